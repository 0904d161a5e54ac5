/**
 * A committed batch's writes as rows (lib/engine/committed-writes.ts): each row reads back as
 * written, and the rows of one vBucket come back in batch order, none for a vBucket without any.
 */
import t from 'tap';
import { CommittedWrites } from '../../lib/engine/committed-writes.js';

t.test('rows read back as added, and by vBucket in order', async (t) => {
  const kept = new CommittedWrites(6);
  const added = [
    { entry: 5, stamp: 4_294_967_295, vbid: 0, seqno: 10, live: true },
    { entry: 9, stamp: 7, vbid: 1023, seqno: 2 ** 40, live: false },
    { entry: 0, stamp: 8, vbid: 0, seqno: 11, live: false },
    { entry: 12, stamp: 9, vbid: 7, seqno: 1, live: true },
    { entry: 5, stamp: 10, vbid: 0, seqno: 12, live: true },
  ];
  for (const r of added) kept.add(r.entry, r.stamp, r.vbid, r.seqno, r.live);
  t.equal(kept.size, 5);
  t.same(
    added.map((_, i) => ({ entry: kept.entry(i), stamp: kept.stamp(i), vbid: kept.vbid(i), seqno: kept.seqno(i), live: kept.live(i) })),
    added,
    'every field of every row, large stamps and seqnos included',
  );
  t.same([...kept.rowsOf(0)], [0, 2, 4], "vBucket 0's rows, in batch order");
  t.same([...kept.rowsOf(1023)], [1]);
  t.same([...kept.rowsOf(5)], [], 'none for a vBucket the batch did not touch');
});
