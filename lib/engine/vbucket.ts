/**
 * A vBucket: its state, its sequence-number counter and failover table, and the items written
 * in memory but not yet committed to LMDB (read before LMDB, so reads see every acknowledged
 * write).
 */
import { PendingWrites } from './pending-writes.js';
import type { ItemWrite, VBStateRecord } from '../store/store.js';
import { FailoverTable } from './failover-table.js';

export const VBucketState = {
  Active: 1,
  Replica: 2,
  Pending: 3,
  Dead: 4,
} as const;
export type VBucketState = (typeof VBucketState)[keyof typeof VBucketState];

export const VBUCKET_STATE_NAMES: Record<VBucketState, string> = {
  [VBucketState.Active]: 'active',
  [VBucketState.Replica]: 'replica',
  [VBucketState.Pending]: 'pending',
  [VBucketState.Dead]: 'dead',
};

export function isVBucketState(n: number): n is VBucketState {
  return n >= VBucketState.Active && n <= VBucketState.Dead;
}

/** A write waiting for (or inside) a flusher batch. */
export interface PendingWrite extends ItemWrite {
  vb: VBucket;
  /** The item key as a latin1 string (a cheap exact map key for arbitrary bytes), or null
   * while the resident table's entry holds it: a SET makes no key string unless a DCP stream
   * listens (ItemStorage.keyStringOf makes one when asked; before FLUSH or DEL_VBUCKET take
   * entries from under uncommitted writes, every null one is filled in). */
  keyString: string | null;
  /** The item key's length in bytes. */
  keyLength: number;
  /** The buffer holding the record to store, `recordLength` bytes at `recordAt`: the record's
   * own Buffer (recordAt 0), or the arena page of the resident table's chunk `chunk` (-1: none)
   * that the write owns until its commit (item-cache.ts). Null removes the key (a purge, never
   * in `pending`). `pendingRecord` makes a Buffer of the record alone. */
  record: Buffer | null;
  recordAt: number;
  recordLength: number;
  recordData: DataView | null;
  chunk: number;
  seqno: number;
  /** Always -1 (ItemWrite.prevSeqno: not known): the apply thread reads what LMDB holds. */
  prevSeqno: number;
  /** The resident table's entry holding it (-1: none, a purge), and the write's stamp there
   * (ItemCache.stampOf), which tells whether the entry still holds this write. */
  entry: number;
  stamp: number;
  /** The resident table's generation when the write was made (ItemCache.generation). */
  generation: number;
  /** Whether the record is a live item (not a tombstone), noted at issue while the record is
   * in the cache: read from the record at commit it was a cache miss per write. */
  live: boolean;
  /** Written by warmup's expiry of an item it found expired. */
  warmupExpiry: boolean;
  /** How many DCP streams' queues hold it (each counts it out as it sends it): one still held
   * at its commit gets a copy of its record there, off its chunk. */
  streams: number;
}

/** The record of `w` as a Buffer of its own bytes (a view of its chunk, valid until the
 * write commits), or null for a purge. */
export function pendingRecord(w: PendingWrite): Buffer | null {
  const rec = w.record;
  if (rec === null || (w.recordAt === 0 && w.recordLength === rec.length)) return rec;
  return rec.subarray(w.recordAt, w.recordAt + w.recordLength);
}

export class VBucket {
  state: VBucketState = VBucketState.Active;
  /** Highest seqno issued (in memory). */
  highSeqno = 0;
  /** Highest seqno on disk (in the store's commit log, synced): what survives a crash. */
  persistedHighSeqno = 0;
  /** Highest seqno in LMDB, where DCP backfills read (at most persistedHighSeqno; the writes
   * between the two are still in the pending list). */
  appliedHighSeqno = 0;
  purgeSeqno = 0;
  /** The highest revision seqno of a tombstone the purger removed (kv_engine's
   * max_deleted_revseqno): a key recreated after that continues above it. */
  maxDeletedRevSeqno = 0;
  snapStart = 0;
  snapEnd = 0;
  numItems = 0;
  /** Value bytes of its live items (the `bytes` stat, per vBucket). */
  numBytes = 0;
  /** The flusher's bookkeeping while it folds a batch: the run that last saw this vBucket and
   * the highest seqno that run found for it (a field, not a map lookup per write). */
  flushRun = 0;
  flushHigh = 0;
  /** Set once DEL_VBUCKET removed it: its queued writes must not reach disk. */
  deleted = false;
  /** A replica: the snapshot (DCP marker) its latest received item belongs to; what a stream
   * request resumes from. */
  receivedSnapStart = 0;
  receivedSnapEnd = 0;
  /** A replica: markers received whose end is not yet persisted, oldest first; the persisted
   * snapshot range is the marker holding the persisted high seqno. */
  readonly markers: Array<{ start: number; end: number }> = [];
  /** False while a promotion is under way: replicated items are refused from then on. */
  acceptsReplication = true;
  failovers: FailoverTable;
  /** The failover table as last persisted on purpose (persistVBState). The flusher writes this
   * one, so a table change reaches disk only through an explicit, synchronous persist. */
  failoversOnDisk: FailoverTable;
  /** Writes issued and not yet committed, oldest first (committed ones not yet in LMDB are in
   * the flusher's CommittedWrites). */
  readonly pending = new PendingWrites<PendingWrite>();
  /** Called with every write as it is issued (DCP streams in their in-memory phase). */
  readonly listeners = new Set<(w: PendingWrite) => void>();

  constructor(
    readonly id: number,
    failovers: FailoverTable = FailoverTable.fresh(),
  ) {
    this.failovers = failovers;
    this.failoversOnDisk = failovers.copy();
  }

  /** The snapshot range to persist with `high` as the high seqno: for a replica the marker that
   * holds it, for an active vBucket the seqnos since the last commit. */
  snapshotAt(high: number): { start: number; end: number } {
    for (let i = this.markers.length - 1; i >= 0; i--) {
      const m = this.markers[i];
      if (m.start <= high) return { start: m.start, end: Math.max(m.end, high) };
    }
    return { start: Math.min(this.persistedHighSeqno + 1, high), end: high };
  }

  /** `snapshotAt` in the stored record's names. */
  snapshotRange(high: number): { snapStart: number; snapEnd: number } {
    const s = this.snapshotAt(high);
    return { snapStart: s.start, snapEnd: s.end };
  }

  /** `high` is persisted: markers that ended at or before it are history. */
  persisted(high: number): void {
    const snap = this.snapshotAt(high);
    this.snapStart = snap.start;
    this.snapEnd = snap.end;
    this.persistedHighSeqno = high;
    while (this.markers.length > 1 && this.markers[0].end < high && this.markers[1].start <= high) this.markers.shift();
  }

  nextSeqno(): number {
    return ++this.highSeqno;
  }

  get uuid(): bigint {
    return this.failovers.latest().uuid;
  }

  toRecord(maxCas: number, failovers: FailoverTable = this.failoversOnDisk): VBStateRecord {
    return {
      state: this.state,
      highSeqno: this.persistedHighSeqno,
      purgeSeqno: this.purgeSeqno,
      maxDeletedRevSeqno: this.maxDeletedRevSeqno,
      maxCas,
      snapStart: this.snapStart,
      snapEnd: this.snapEnd,
      failovers: failovers.toJSON(),
    };
  }

  static fromRecord(id: number, r: VBStateRecord): VBucket {
    const vb = new VBucket(id, FailoverTable.fromJSON(r.failovers));
    if (vb.failovers.size === 0) {
      vb.failovers = FailoverTable.fresh();
      vb.failoversOnDisk = vb.failovers.copy();
    }
    vb.state = isVBucketState(r.state) ? r.state : VBucketState.Dead;
    vb.highSeqno = r.highSeqno;
    vb.persistedHighSeqno = r.highSeqno;
    vb.appliedHighSeqno = r.highSeqno;
    vb.purgeSeqno = r.purgeSeqno;
    vb.maxDeletedRevSeqno = r.maxDeletedRevSeqno ?? 0;
    vb.snapStart = r.snapStart;
    vb.snapEnd = r.snapEnd;
    vb.receivedSnapStart = r.snapStart;
    vb.receivedSnapEnd = r.snapEnd;
    return vb;
  }
}
