/**
 * Reused pending-write objects (lib/engine/pending-write-pool.ts): a given-back write comes
 * back with every field of the new write and nothing of the old one; a write a DCP stream may
 * hold (it has a key string, or a stream's queue counts it) and a purge are never reused; the pool keeps a bounded number.
 * End to end, test/replication/convergence.test.ts fails when a stream's write is reused.
 */
import t from 'tap';
import { PendingWritePool } from '../../lib/engine/pending-write-pool.js';
import { VBucket } from '../../lib/engine/vbucket.js';

t.test('a given-back write is reused with only the new write in it', async (t) => {
  const pool = new PendingWritePool();
  const vb0 = new VBucket(0);
  const vb1 = new VBucket(1);
  const record = Buffer.from('a record of its own');
  const w = pool.take(vb0, null, 5, record, 0, record.length, -1, 7, true);
  w.entry = 3;
  w.stamp = 4_000_000_000;
  w.generation = 2;
  pool.give(w);
  t.equal(pool.size, 1);
  t.not(w.record, record, 'the pool does not keep the old record alive');
  const page = Buffer.alloc(64);
  const again = pool.take(vb1, null, 9, page, 16, 40, 12, 8, false);
  t.equal(again, w, 'the same object');
  t.equal(pool.size, 0);
  t.same(
    { vb: again.vb.id, keyString: again.keyString, keyLength: again.keyLength, recordAt: again.recordAt, recordLength: again.recordLength, chunk: again.chunk, seqno: again.seqno, prevSeqno: again.prevSeqno, entry: again.entry, stamp: again.stamp, generation: again.generation, live: again.live, warmupExpiry: again.warmupExpiry, streams: again.streams },
    { vb: 1, keyString: null, keyLength: 9, recordAt: 16, recordLength: 40, chunk: 12, seqno: 8, prevSeqno: -1, entry: -1, stamp: 0, generation: 0, live: false, warmupExpiry: false, streams: 0 },
  );
  t.equal(again.record, page);
});

t.test('writes a stream may hold, and purges, are not reused', async (t) => {
  const pool = new PendingWritePool();
  const vb = new VBucket(0);
  const streamed = pool.take(vb, '\u0000\u0000key', 5, Buffer.alloc(40), 0, 40, -1, 1, false);
  const purge = pool.take(vb, '\u0000\u0000old', 5, null, 0, 0, -1, 2, false);
  // A write a stream's queue still counts, even without a key string.
  const queued = pool.take(vb, null, 5, Buffer.alloc(40), 0, 40, -1, 4, false);
  queued.streams = 1;
  pool.give(streamed);
  pool.give(purge);
  pool.give(queued);
  t.equal(pool.size, 0);
  t.not(pool.take(vb, null, 5, Buffer.alloc(40), 0, 40, -1, 3, false), streamed, 'a fresh object');
});

t.test('the pool keeps a bounded number of writes', async (t) => {
  const pool = new PendingWritePool();
  const vb = new VBucket(0);
  const page = Buffer.alloc(64);
  const writes = Array.from({ length: 20_000 }, (_, i) => pool.take(vb, null, 5, page, 0, 40, -1, i, false));
  for (const w of writes) pool.give(w);
  t.equal(pool.size, 16_384);
});
