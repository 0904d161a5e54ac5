/**
 * Pending-write objects of committed writes, reused by new writes. A write's object lived
 * from its request to its commit: under a pipelined SET load long enough to be copied by a
 * scavenge or two, and a third of the bytes a SET allocated on the event loop (bench:alloc).
 *
 * Only a write nothing else can hold is given back: one issued while a DCP stream listened sits
 * in the stream's queue (it has a key string from the start, and so does one whose key a FLUSH
 * or DEL_VBUCKET kept: those are simply not reused). Everything else that sees a pending write
 * (the flusher, the vBucket's pending list, a stream moving to memory, which copies at once)
 * lets it go by its commit.
 */
import type { PendingWrite, VBucket } from './vbucket.js';

/** About the writes of one commit under load. */
const MOST_KEPT = 16_384;
/** What a kept write's record becomes: a record Buffer of its own is not kept alive by the pool. */
const NO_RECORD = Buffer.alloc(0);

export class PendingWritePool {
  private readonly spare: PendingWrite[] = [];

  /** A write of `recordLength` bytes at `recordAt` in `record` (a purge: null); its entry,
   * stamp, generation and live bit are the caller's to set. */
  take(vb: VBucket, keyString: string | null, keyLength: number, record: Buffer | null, recordAt: number, recordLength: number, chunk: number, seqno: number, warmupExpiry: boolean): PendingWrite {
    const w = this.spare.pop();
    if (w === undefined) return { vb, keyString, keyLength, record, recordAt, recordLength, recordData: null, chunk, seqno, prevSeqno: -1, entry: -1, stamp: 0, generation: 0, live: false, warmupExpiry, streams: 0 };
    w.vb = vb;
    w.keyString = keyString;
    w.keyLength = keyLength;
    w.record = record;
    w.recordAt = recordAt;
    w.recordLength = recordLength;
    w.recordData = null;
    w.chunk = chunk;
    w.seqno = seqno;
    w.entry = -1;
    w.stamp = 0;
    w.generation = 0;
    w.live = false;
    w.warmupExpiry = warmupExpiry;
    w.streams = 0;
    return w;
  }

  /** `w` is committed and its commit has read it: reused unless a stream may hold it. */
  give(w: PendingWrite): void {
    if (w.keyString !== null || w.streams > 0 || w.record === null || this.spare.length >= MOST_KEPT) return;
    w.record = NO_RECORD;
    this.spare.push(w);
  }

  get size(): number {
    return this.spare.length;
  }
}
