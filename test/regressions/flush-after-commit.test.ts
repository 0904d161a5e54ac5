/**
 * A FLUSH after writes that are committed (in the commit log) but not yet in LMDB stays done
 * across a SIGKILL: the restart's replay of the commit log must not bring the flushed items
 * back; nor a FLUSH that comes while the batch holding the earlier writes is being committed.
 * Written after a timing-dependent run of write-keys.test.ts failed its FLUSH data checks
 * (session 19): --ack=persist makes every write committed before its reply, and test hooks keep
 * committed batches out of LMDB or their commit unreported.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { withClient } from '../fixtures/client.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';

const ARGS = ['--vbuckets', '4', '--ack', 'persist'];

for (const applyDelay of ['0', '60000']) {
  t.test(`a FLUSH after committed writes survives a SIGKILL (apply delay ${applyDelay} ms)`, async (t) => {
    const dir = tempDataDir();
    t.teardown(() => removeDataDir(dir));
    const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_APPLY_DELAY_MS: applyDelay } });
    await withClient(a.port, async (c) => {
      for (let i = 0; i < 20; i++) t.equal((await c.call({ opcode: Op.SET, key: `before-${i}`, extras: setExtras(0, 0), value: 'x' })).status, St.SUCCESS);
      t.equal((await c.call({ opcode: Op.FLUSH })).status, St.SUCCESS, 'FLUSH');
      t.equal((await c.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'y' })).status, St.SUCCESS, 'a write after it, committed');
    });
    await a.stop('SIGKILL');
    const b = await startServer({ dataDir: dir, args: ARGS });
    t.teardown(() => b.stop('SIGKILL'));
    await withClient(b.port, async (c) => {
      const found = [];
      for (let i = 0; i < 20; i++) if ((await c.call({ opcode: Op.GET, key: `before-${i}` })).status === St.SUCCESS) found.push(i);
      t.same(found, [], 'no item written before the FLUSH is back');
      t.equal((await c.call({ opcode: Op.GET, key: 'after' })).status, St.SUCCESS, 'the write after it is there');
    });
  });
}

t.test('a FLUSH while the batch holding earlier writes is being committed survives a SIGKILL', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  // --ack=memory answers at once; each synced batch is answered 1.5 s late, so the batch with
  // the writes below is in flight (taken, committed, not yet reported) when the FLUSH comes.
  const a = await startServer({ dataDir: dir, args: ['--vbuckets', '4', '--ack', 'memory'], env: { LMCACHED_COMMIT_REPLY_DELAY_MS: '1500' } });
  await withClient(a.port, async (c) => {
    for (let i = 0; i < 20; i++) t.equal((await c.call({ opcode: Op.SET, key: `before-${i}`, extras: setExtras(0, 0), value: 'x' })).status, St.SUCCESS);
    // Long enough for the flusher to take the batch (its interval), well inside the reply delay.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const st = await c.stats();
    // Some batches in flight (their commit unreported), later writes queued behind them.
    t.ok(Number(st.get('unpersisted_bytes')) > 0 && Number(st.get('flusher_committed_batch')) === 0, `writes in flight (backlog ${st.get('flusher_backlog')}, unpersisted ${st.get('unpersisted_bytes')} bytes, none reported committed)`);
    t.equal((await c.call({ opcode: Op.FLUSH })).status, St.SUCCESS, 'FLUSH');
    t.equal((await c.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'y' })).status, St.SUCCESS);
    const gone = [];
    for (let i = 0; i < 20; i++) if ((await c.call({ opcode: Op.GET, key: `before-${i}` })).status === St.SUCCESS) gone.push(i);
    t.same(gone, [], 'before the restart: flushed');
    // Every write committed before the kill.
    for (let n = 0; n < 100; n++) {
      const st = await c.stats();
      if (st.get('flusher_backlog') === '0' && st.get('unpersisted_bytes') === '0') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
  await a.stop('SIGKILL');
  const b = await startServer({ dataDir: dir, args: ['--vbuckets', '4'] });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => {
    const found = [];
    for (let i = 0; i < 20; i++) if ((await c.call({ opcode: Op.GET, key: `before-${i}` })).status === St.SUCCESS) found.push(i);
    t.same(found, [], 'after the restart: no item written before the FLUSH is back');
    t.equal((await c.call({ opcode: Op.GET, key: 'after' })).status, St.SUCCESS, 'the write after it is there');
  });
});
