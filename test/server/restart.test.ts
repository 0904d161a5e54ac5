/**
 * Data survives restarts: a clean SIGTERM in either ack mode, and SIGKILL right after the
 * acknowledgement in --ack=persist mode.
 */
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
