/**
 * A write keeps no key string of its own: the flusher copies each key from the resident
 * table's entry into the batch. DEL_VBUCKET and FLUSH take entries from under writes not yet
 * committed, so those writes must take their keys along first. Commits are held back here so
 * both happen while writes wait, with keys kept in the buckets (short) and as strings (longer
 * than a bucket holds); a SIGKILL after the commits shows what reached disk, under which keys.
 * The writes, a STAT and the DEL_VBUCKET or FLUSH go in one pipeline: a connection handles its
 * requests in order, so the STAT shows the writes uncommitted just before the deletion (the
 * replies themselves may wait for the commit: --ack=memory holds them once commits lag).
 */
import t from 'tap';
import { Op, St, setExtras, type Req, type Res } from '../fixtures/frames.js';
import { clientFor } from '../fixtures/harness.js';
import { KvOp } from '../fixtures/kv.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import type { RawClient } from '../fixtures/client.js';

const ARGS = ['--vbuckets', '4'];
const HOLD = { LMCACHED_FLUSH_DELAY_MS: '1500' };
const keyOf = (i: number): string => (i % 2 === 0 ? `k${i}` : `a-key-too-long-for-a-bucket-of-the-table-${i}`);
const sets = (vbucket: number, from: number, to: number, tag: string): Req[] => {
  const out: Req[] = [];
  for (let i = from; i < to; i++) out.push({ opcode: Op.SETQ, key: keyOf(i), vbucket, extras: setExtras(i, 0), value: `${tag}-${vbucket}-${i}` });
  return out;
};
const STAT: Req = { opcode: Op.STAT };
/** unpersisted_bytes as the STAT inside a pipeline's replies reported it. */
const unpersistedIn = (rs: Res[]): number => Number(rs.find((r) => r.opcode === Op.STAT && r.key.toString() === 'unpersisted_bytes')?.value.toString());
/** Until every write is committed (queued, in flight or retried: all count as unpersisted). */
const allCommitted = (c: RawClient): Promise<void> => until(async () => (await c.stats()).get('unpersisted_bytes') === '0', 'every write to commit');

async function readAll(c: RawClient, vbucket: number, n: number): Promise<Map<string, string>> {
  const rs = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.GETK, key: keyOf(i), vbucket, opaque: i })));
  const out = new Map<string, string>();
  for (const r of rs) if (r.opcode === Op.GETK && r.status === St.SUCCESS) out.set(r.key.toString(), r.value.toString());
  return out;
}

t.test('writes waiting to commit through a DEL_VBUCKET keep their keys, on disk too', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: HOLD });
  const c = await clientFor(t, a.port);
  const rs = await c.pipeline(
    ...sets(0, 0, 60, 'one'), ...sets(1, 0, 60, 'one'), ...sets(2, 0, 60, 'one'), STAT,
    { opcode: KvOp.SET_VBUCKET, vbucket: 2, extras: Buffer.from([4]), opaque: 1 },
    { opcode: KvOp.DEL_VBUCKET, vbucket: 2, value: 'async=0', opaque: 2 },
    // Half of the keys written again after the deletion: both generations of writes wait.
    ...sets(0, 0, 30, 'two'), ...sets(1, 30, 60, 'two'),
  );
  t.ok(unpersistedIn(rs) > 0, 'the writes wait for their commit when vBucket 2 is deleted');
  t.same(rs.filter((r) => r.opcode !== Op.STAT && r.opcode !== Op.NOOP).map((r) => [r.opaque, r.status]), [[1, St.SUCCESS], [2, St.SUCCESS]], 'vBucket 2 deleted (async=0: on disk before the reply), every write stored');
  await allCommitted(c);
  t.equal((await c.stats()).get('disk_errors'), '0', 'no commit failed');
  await a.stop('SIGKILL');

  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await clientFor(t, b.port);
  for (const vb of [0, 1]) {
    const got = await readAll(d, vb, 60);
    let wrong = 0;
    for (let i = 0; i < 60; i++) {
      const tag = (vb === 0 && i < 30) || (vb === 1 && i >= 30) ? 'two' : 'one';
      if (got.get(keyOf(i)) !== `${tag}-${vb}-${i}`) wrong++;
    }
    t.equal(got.size, 60, `vBucket ${vb}: every key after the restart`);
    t.equal(wrong, 0, `vBucket ${vb}: each with its newest value`);
  }
  t.equal((await d.call({ opcode: KvOp.GET_VBUCKET, vbucket: 2 })).status, St.NOT_MY_VBUCKET, 'vBucket 2 stays deleted');
});

t.test('writes waiting to commit through a FLUSH: those before it are gone, those after it kept', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: HOLD });
  const c = await clientFor(t, a.port);
  const rs = await c.pipeline(
    ...sets(0, 0, 40, 'before'), ...sets(3, 0, 40, 'before'), STAT,
    { opcode: Op.FLUSH, opaque: 1 },
    ...sets(0, 20, 40, 'after'), ...sets(3, 0, 10, 'after'),
  );
  t.ok(unpersistedIn(rs) > 0, 'the writes wait for their commit when the FLUSH comes');
  t.same(rs.filter((r) => r.opcode !== Op.STAT && r.opcode !== Op.NOOP).map((r) => [r.opaque, r.status]), [[1, St.SUCCESS]], 'flushed, every write stored');
  t.equal((await c.stats()).get('disk_errors'), '0', 'no commit failed');
  await allCommitted(c);
  await a.stop('SIGKILL');

  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await clientFor(t, b.port);
  const vb0 = await readAll(d, 0, 40);
  const vb3 = await readAll(d, 3, 40);
  t.same([...vb0.keys()].sort(), Array.from({ length: 20 }, (_, i) => keyOf(20 + i)).sort(), 'vBucket 0: only the keys written after the flush');
  t.same([...vb3.keys()].sort(), Array.from({ length: 10 }, (_, i) => keyOf(i)).sort(), 'vBucket 3: likewise');
  t.ok([...vb0].every(([k, v]) => v === `after-0-${k.replace(/.*?(\d+)$/, '$1')}`), 'vBucket 0: with their values');
  t.ok([...vb3].every(([k, v]) => v === `after-3-${k.replace(/.*?(\d+)$/, '$1')}`), 'vBucket 3: with their values');
});
