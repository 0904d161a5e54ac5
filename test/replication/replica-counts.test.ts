/**
 * A replica's item and byte counts follow its active's through new keys, overwrites with
 * other value lengths and deletions: each replicated item is counted against the record the
 * replica held for its key, resident or (after a restart) possibly only on disk.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { caughtUp, content, startNode, startPair, VBUCKETS } from '../fixtures/pair.js';

async function counts(port: number): Promise<{ items: number; bytes: number }> {
  const c = await RawClient.connect(port);
  try {
    const s = await c.stats();
    return { items: Number(s.get('curr_items')), bytes: Number(s.get('bytes')) };
  } finally {
    c.end();
  }
}

async function sets(c: RawClient, from: number, to: number, value: (i: number) => string): Promise<void> {
  const n = to - from;
  const replies = await c.pipeline(...Array.from({ length: n }, (_, j) => ({ opcode: Op.SET, key: `k-${from + j}`, vbucket: (from + j) % VBUCKETS, extras: setExtras(0, 0), value: value(from + j) })));
  if (!replies.every((r) => r.status === St.SUCCESS)) throw new Error('a write failed');
}

async function deletes(c: RawClient, from: number, to: number): Promise<void> {
  const replies = await c.pipeline(...Array.from({ length: to - from }, (_, j) => ({ opcode: Op.DELETE, key: `k-${from + j}`, vbucket: (from + j) % VBUCKETS })));
  if (!replies.every((r) => r.status === St.SUCCESS)) throw new Error('a delete failed');
}

t.test('curr_items and bytes on a replica equal the active\'s', async (t) => {
  const { b, pa, pb, dirB } = await startPair(t);
  const c = await RawClient.connect(pa);
  t.teardown(() => c.end());

  await sets(c, 0, 60, (i) => `v${i}`);
  await sets(c, 0, 30, (i) => `a longer value ${i}`.repeat(3));
  await deletes(c, 30, 45);
  await caughtUp(pa, pb);
  const active = await counts(pa);
  t.same(active, { items: 45, bytes: active.bytes }, 'the active holds 45 items');
  t.same(await counts(pb), active, 'the replica counts the same items and bytes');
  t.same([...(await content(pb)).entries()], [...(await content(pa)).entries()], 'and holds the same data');

  // Restarted, the replica counts its items from disk; later writes replace records it may
  // hold only there.
  await b.stop('SIGTERM');
  const restarted = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => restarted.stop('SIGKILL'));
  await sets(c, 10, 40, (i) => `w${i}`);
  await deletes(c, 0, 5);
  await caughtUp(pa, pb);
  const after = await counts(pa);
  t.equal(after.items, 50, 'the active holds 50 items');
  t.same(await counts(pb), after, 'the replica still counts the same items and bytes');
});
