/**
 * Data survives restarts: a clean SIGTERM in either ack mode, and SIGKILL right after the
 * acknowledgement in --ack=persist mode.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Op, St, setExtras, arithExtras } from '../fixtures/frames.js';
import { RawClient, withClient } from '../fixtures/client.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';


const N = 500;
const key = (i: number): string => `item-${i}`;

async function writeWorkload(c: RawClient): Promise<bigint> {
  // Quiet sets, then a NOOP: its reply comes after every set's (held ones included).
  const frames = Array.from({ length: N }, (_, i) => ({ opcode: Op.SETQ, key: key(i), extras: setExtras(i, 0), value: `value-${i}` }));
  const res = await c.pipeline(...frames, { opcode: Op.SET, key: 'ttl', extras: setExtras(0, 3600), value: 'lives' }, { opcode: Op.SET, key: 'gone', extras: setExtras(0, 0), value: 'x' }, { opcode: Op.DELETE, key: 'gone' }, { opcode: Op.INCREMENT, key: 'counter', extras: arithExtras(7n, 100n, 0) });
  const errors = res.filter((r) => r.status !== St.SUCCESS);
  if (errors.length > 0) throw new Error(`workload failed: ${JSON.stringify(errors[0])}`);
  return res[res.length - 2].cas;
}

async function verifyWorkload(t: Test, c: RawClient, lastCas: bigint): Promise<void> {
  const gets = await c.pipeline(...Array.from({ length: N }, (_, i) => ({ opcode: Op.GET, key: key(i), opaque: i })));
  const bad = gets.slice(0, N).filter((r, i) => r.status !== St.SUCCESS || r.value.toString() !== `value-${i}` || r.extras.readUInt32BE(0) !== i);
  t.equal(bad.length, 0, `all ${N} items with value and flags`);
  t.equal((await c.call({ opcode: Op.GET, key: 'ttl' })).value.toString(), 'lives', 'item with a TTL');
  t.equal((await c.call({ opcode: Op.GET, key: 'gone' })).status, St.KEY_ENOENT, 'deleted stays deleted');
  t.equal((await c.call({ opcode: Op.GET, key: 'counter' })).value.toString(), '100', 'counter');
  t.equal((await c.stats()).get('curr_items'), String(N + 2), 'warmup counted the live items');
  const fresh = await c.call({ opcode: Op.SET, key: 'fresh', extras: setExtras(0, 0), value: 'x' });
  t.ok(fresh.cas > lastCas, 'CAS keeps growing across the restart');
}

for (const [mode, signal] of [['memory', 'SIGTERM'], ['persist', 'SIGTERM'], ['persist', 'SIGKILL']] as const) {
  t.test(`--ack=${mode}, ${signal} after the ack, restart on the same data dir`, async (t) => {
    const dataDir = tempDataDir();
    t.teardown(() => removeDataDir(dataDir));
    const a = await startServer({ dataDir, args: ['--ack', mode] });
    const lastCas = await withClient(a.port, writeWorkload);
    const exit = await a.stop(signal);
    if (signal === 'SIGTERM') t.equal(exit.code, 0, 'clean exit');
    else t.equal(exit.signal, 'SIGKILL');
    const b = await startServer({ dataDir, args: ['--ack', mode] });
    t.teardown(() => b.stop('SIGKILL'));
    await withClient(b.port, (c) => verifyWorkload(t, c, lastCas));
  });
}

t.test('a flush survives a restart', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const a = await startServer({ dataDir, args: ['--ack', 'persist'] });
  await withClient(a.port, async (c) => {
    await c.call({ opcode: Op.SET, key: 'before', extras: setExtras(0, 0), value: 'x' });
    await c.call({ opcode: Op.FLUSH });
    await c.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'y' });
  });
  await a.stop('SIGKILL');
  const b = await startServer({ dataDir });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => {
    t.equal((await c.call({ opcode: Op.GET, key: 'before' })).status, St.KEY_ENOENT);
    t.equal((await c.call({ opcode: Op.GET, key: 'after' })).value.toString(), 'y');
  });
});

t.test('a batch larger than the write buffers kept for reuse, then smaller ones, all survive a SIGKILL', async (t) => {
  // LMCACHED_FLUSH_DELAY_MS holds the batch open while 20 MiB of writes arrive, so they commit
  // as one batch above the 16 MiB that batch-buffers.ts and the write thread keep; the batches
  // after it reuse buffers again.
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const a = await startServer({ dataDir, args: ['--ack', 'persist'], env: { LMCACHED_FLUSH_DELAY_MS: '1000' } });
  const big = (i: number): Buffer => Buffer.alloc(1000 * 1000, 0x41 + i);
  await withClient(a.port, async (c) => {
    const res = await c.pipeline(...Array.from({ length: 20 }, (_, i) => ({ opcode: Op.SETQ, key: `big-${i}`, extras: setExtras(i, 0), value: big(i) })));
    t.same(res.map((r) => r.status), [St.SUCCESS], 'the 20 quiet SETs stored, the NOOP answered after their commit');
    for (let round = 0; round < 3; round++) {
      const r = await c.pipeline(...Array.from({ length: 50 }, (_, i) => ({ opcode: Op.SETQ, key: `small-${round}-${i}`, extras: setExtras(0, 0), value: `v${round}.${i}` })));
      t.same(r.map((x) => x.status), [St.SUCCESS], `round ${round} of small batches acknowledged`);
    }
  });
  t.equal((await a.stop('SIGKILL')).signal, 'SIGKILL');
  const b = await startServer({ dataDir });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => {
    const gets = await c.pipeline(...Array.from({ length: 20 }, (_, i) => ({ opcode: Op.GET, key: `big-${i}` })));
    t.equal(gets.length, 21, 'twenty answers and the NOOP');
    t.equal(gets.slice(0, 20).filter((r, i) => r.status !== St.SUCCESS || !r.value.equals(big(i)) || r.extras.readUInt32BE(0) !== i).length, 0, 'every large value intact after the restart');
    const smalls = await c.pipeline(...Array.from({ length: 150 }, (_, k) => ({ opcode: Op.GET, key: `small-${Math.floor(k / 50)}-${k % 50}` })));
    t.equal(smalls.slice(0, 150).filter((r, k) => r.value.toString() !== `v${Math.floor(k / 50)}.${k % 50}`).length, 0, 'every small one too');
  });
});

t.test('a data directory whose name has a dot in it (lmdb-js reads such a path as a file by default)', async (t) => {
  const parent = tempDataDir();
  t.teardown(() => removeDataDir(parent));
  const dataDir = join(parent, 'lmcached.data');
  const a = await startServer({ dataDir, args: ['--ack', 'persist'] });
  await withClient(a.port, async (c) => t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS));
  await a.stop('SIGKILL');
  t.ok(existsSync(join(dataDir, 'data.mdb')), 'LMDB files inside the directory');
  const b = await startServer({ dataDir });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => t.equal((await c.call({ opcode: Op.GET, key: 'k' })).value.toString(), 'v', 'read back after the restart'));
});
