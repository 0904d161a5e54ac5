/**
 * A committed batch's writes while LMDB does not have them yet (kv_engine's closed checkpoint,
 * waiting for its flush), as rows of numbers: the resident entry holding each write, the
 * write's stamp there (item-cache.ts), its vBucket and seqno, and whether it is a live item.
 * The write's own objects (the pending write, its key string, its record's Buffer) are let go
 * at commit: the record is in the arena by then, pinned until the apply settles it, and a
 * DCP stream reads it there (ItemStorage.unappliedRecords). Kept as objects they lived up to a
 * quarter of a second under load, long enough to be promoted to the old generation, whose
 * collections then cost the event loop and the helper threads (bench:alloc).
 *
 * Purges (the purger's removals of old tombstones, no record and no seqno) are rare and keep
 * their pending writes.
 */
import type { PendingWrite } from './vbucket.js';

const ENTRY = 0;
const STAMP = 1;
const VBID = 2;
const SEQNO = 3;
const LIVE = 4;
const ROW = 5;
const NONE: readonly number[] = [];

export class CommittedWrites {
  private rows: Float64Array;
  private count = 0;
  readonly purges: PendingWrite[] = [];
  /** Row numbers by vBucket, made at the first `rowsOf` (DCP streams moving to memory): a
   * stream of each of 1024 vBuckets starting under load must not read every row each. */
  private byVb: Map<number, number[]> | null = null;

  /** `capacity`: the most rows the batch can have. */
  constructor(capacity: number) {
    this.rows = new Float64Array(capacity * ROW);
  }

  get size(): number {
    return this.count;
  }

  add(entry: number, stamp: number, vbid: number, seqno: number, live: boolean): void {
    const r = this.count++ * ROW;
    const rows = this.rows;
    rows[r + ENTRY] = entry;
    rows[r + STAMP] = stamp;
    rows[r + VBID] = vbid;
    rows[r + SEQNO] = seqno;
    rows[r + LIVE] = live ? 1 : 0;
  }

  /** The rows of one vBucket, in order. */
  rowsOf(vbid: number): readonly number[] {
    if (this.byVb === null) {
      this.byVb = new Map();
      for (let i = 0; i < this.count; i++) {
        const v = this.vbid(i);
        const list = this.byVb.get(v);
        if (list === undefined) this.byVb.set(v, [i]);
        else list.push(i);
      }
    }
    return this.byVb.get(vbid) ?? NONE;
  }

  entry(i: number): number {
    return this.rows[i * ROW + ENTRY];
  }

  stamp(i: number): number {
    return this.rows[i * ROW + STAMP];
  }

  vbid(i: number): number {
    return this.rows[i * ROW + VBID];
  }

  seqno(i: number): number {
    return this.rows[i * ROW + SEQNO];
  }

  live(i: number): boolean {
    return this.rows[i * ROW + LIVE] === 1;
  }
}
