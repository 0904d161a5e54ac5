/**
 * A FLUSH after writes that are committed (in the commit log) but not yet in LMDB stays done
 * across a SIGKILL: the restart's replay of the commit log must not bring the flushed items
 * back; nor a FLUSH that comes while the batch holding the earlier writes is being committed.
 * Written after a timing-dependent run of write-keys.test.ts failed its FLUSH data checks
 * (session 19): --ack=persist makes every write committed before its reply, and test hooks keep
 * committed batches out of LMDB or their commit unreported.
 */
import t, { type Test } from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { withClient, type RawClient } from '../fixtures/client.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';

const ARGS = ['--vbuckets', '4', '--ack', 'persist'];
const BEFORE = 20;

async function writeBefore(t: Test, c: RawClient): Promise<void> {
  for (let i = 0; i < BEFORE; i++) t.equal((await c.call({ opcode: Op.SET, key: `before-${i}`, extras: setExtras(0, 0), value: 'x' })).status, St.SUCCESS);
}

/** Which of the keys written before the FLUSH read. */
async function beforeFound(c: RawClient): Promise<number[]> {
  const found = [];
  for (let i = 0; i < BEFORE; i++) if ((await c.call({ opcode: Op.GET, key: `before-${i}` })).status === St.SUCCESS) found.push(i);
  return found;
}

/** Restarts on `dir` after the SIGKILL: the FLUSH holds, the write after it is there. */
async function checkRestart(t: Test, dir: string, args: string[]): Promise<void> {
  const b = await startServer({ dataDir: dir, args });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => {
    t.same(await beforeFound(c), [], 'after the restart: no item written before the FLUSH is back');
    t.equal((await c.call({ opcode: Op.GET, key: 'after' })).status, St.SUCCESS, 'the write after it is there');
  });
}

for (const applyDelay of ['0', '60000']) {
  t.test(`a FLUSH after committed writes survives a SIGKILL (apply delay ${applyDelay} ms)`, async (t) => {
    const dir = tempDataDir();
    t.teardown(() => removeDataDir(dir));
    const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_APPLY_DELAY_MS: applyDelay } });
    await withClient(a.port, async (c) => {
      await writeBefore(t, c);
      t.equal((await c.call({ opcode: Op.FLUSH })).status, St.SUCCESS, 'FLUSH');
      t.equal((await c.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'y' })).status, St.SUCCESS, 'a write after it, committed');
    });
    await a.stop('SIGKILL');
    await checkRestart(t, dir, ARGS);
  });
}

t.test('a FLUSH while the batch holding earlier writes is being committed survives a SIGKILL', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  // --ack=memory answers at once; each synced batch is answered 1.5 s late, so the batch with
  // the writes below is in flight (taken, committed, not yet reported) when the FLUSH comes.
  const args = ['--vbuckets', '4', '--ack', 'memory'];
  const a = await startServer({ dataDir: dir, args, env: { LMCACHED_COMMIT_REPLY_DELAY_MS: '1500' } });
  await withClient(a.port, async (c) => {
    // Quiet writes: no reply for --ack=memory's lag bound to hold, so none waits on the 1.5 s.
    c.send(...Array.from({ length: BEFORE }, (_, i) => ({ opcode: Op.SETQ, key: `before-${i}`, extras: setExtras(0, 0), value: 'x' })));
    // Long enough for the flusher to take the batch (its interval), well inside the reply delay.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The STAT runs just before the FLUSH (a connection handles its requests in order), so it
    // shows the writes as the FLUSH finds them, whenever the replies are let out.
    const rs = await c.pipeline({ opcode: Op.STAT }, { opcode: Op.FLUSH, opaque: 1 }, { opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'y', opaque: 2 });
    const stat = (name: string): string | undefined => rs.find((r) => r.opcode === Op.STAT && r.key.toString() === name)?.value.toString();
    t.ok(Number(stat('unpersisted_bytes')) > 0, `writes in flight (backlog ${stat('flusher_backlog')}, unpersisted ${stat('unpersisted_bytes')} bytes)`);
    t.same(rs.filter((r) => r.opcode === Op.SETQ).map((r) => r.status), [], 'every write stored');
    t.same(rs.filter((r) => r.opcode === Op.FLUSH || r.opcode === Op.SET).map((r) => [r.opaque, r.status]), [[1, St.SUCCESS], [2, St.SUCCESS]], 'FLUSH, and a write after it');
    t.same(await beforeFound(c), [], 'before the restart: flushed');
    // Every write committed before the kill.
    let committed = false;
    for (let n = 0; n < 100 && !committed; n++) {
      const now = await c.stats();
      committed = now.get('flusher_backlog') === '0' && now.get('unpersisted_bytes') === '0';
      if (!committed) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.ok(committed, 'every write committed before the kill');
  });
  await a.stop('SIGKILL');
  await checkRestart(t, dir, ['--vbuckets', '4']);
});
