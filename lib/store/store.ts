/**
 * What the engine asks of storage: one interface, implemented by the LMDB store
 * (lmdb-store.ts). A new backend implements these methods with the same guarantees and owns
 * nothing else; the key codec (key-codec.ts) and the record layout (record.ts) stay as they are.
 *
 * Guarantees every implementation gives: a `writeBatch` whose promise resolved is committed
 * (kept after the process is killed, even by SIGKILL, and after a power loss) and is visible to
 * reads once `onApplied` has reported it and `refreshReads()` was called; `flushed()` resolves
 * once everything committed so far is applied and synced; `persistVBStatesNow` returns only
 * after both. Reads are synchronous.
 */

/** Data this build cannot read: a record or data directory of an unknown format, written by
 * a newer build or damaged. Never guessed at; start-up stops with its message. */
export class DataFormatError extends Error {
  override name = 'DataFormatError';
}

/** What replaying the commit log at start found and did. */
export interface ReplayReport {
  segments: number;
  frames: number;
  writes: number;
  /** Bytes after the last good frame of the last segment: an append a crash cut short (never
   * acknowledged: a batch is answered after its frame is synced). */
  tornBytes: number;
  /** Segments that failed their checks before the last one: kept as `<name>.damaged`, never
   * applied. */
  damaged: string[];
  /** Applying the frames to LMDB failed (a full disk): the segments stay and the apply is
   * retried; null once applied. */
  error: string | null;
}

/** What the store keeps per vBucket (the `vbstate` database). */
export interface VBStateRecord {
  state: number;
  highSeqno: number;
  purgeSeqno: number;
  /** Absent in states written before revision seqnos (read as 0). */
  maxDeletedRevSeqno?: number;
  maxCas: number;
  snapStart: number;
  snapEnd: number;
  failovers: Array<[string, number]>;
}

/**
 * The part of vBucket states that moves with every batch, for vBuckets whose other fields
 * (state, purge seqno, failover table) are as in the last full record the store was given for
 * them: under load a batch touches most vBuckets, and a full record each (failover table and
 * all) cost more than the batch's writes. The store writes the last full record with these
 * fields replaced.
 */
export interface VBStateProgress {
  /** PROGRESS_ROW numbers per vBucket: vbid, highSeqno, snapStart, snapEnd. */
  rows: Float64Array;
  /** The maxCas of every vBucket in `rows`. */
  maxCas: number;
}

export const PROGRESS_ROW = 4;

/** One item write: a record to store (null removes the key), its seqno, and the seqno the
 * store holds for the key now (0 none; -1: not known, the store reads it), whose seqno-index
 * entry is dropped. */
export interface ItemWrite {
  /** The item key (key-codec.ts) as a latin1 string, one character per byte; null when the
   * batch's ItemKeySource supplies it (the engine's resident table holds every uncommitted
   * write's key, so a write needs no key string or Buffer of its own). */
  keyString: string | null;
  /** The record, or the buffer holding it as `recordLength` bytes at `recordAt` (both absent:
   * all of it). */
  record: Buffer | null;
  recordAt?: number;
  recordLength?: number;
  /** A DataView over `record` when it is an arena page (one per page, kept): the batch copies a
   * short record word by word from it, no view made per record. */
  recordData?: DataView | null;
  seqno: number;
  prevSeqno: number;
}

/** The keys of writes whose keyString is null, copied straight into a batch's buffer. */
export interface ItemKeySource<W extends ItemWrite> {
  keyLength(w: W): number;
  /** Copies the item key of `w` into `dst` at `at`. */
  putKey(w: W, dst: Uint8Array, at: number): void;
}

/** An item found by a scan: its item key and a copy of its record. */
export interface ScannedItem {
  itemKey: Buffer;
  record: Buffer;
}

/** One point in time of the store, for reads that span event-loop turns (a DCP disk
 * snapshot): it sees the commit that was the latest when it was opened, however many follow,
 * until `close()`. Holding it open keeps the pages of that commit from being reused. */
export interface ReadSnapshot {
  /** As Store.getItem, at the snapshot's point in time. */
  getItem(itemKey: Buffer): Buffer | undefined;
  /** As Store.scanSeqnos, at the snapshot's point in time. */
  scanSeqnos(vbid: number, from: number, to: number): Generator<{ seqno: number; itemKey: Buffer }>;
  close(): void;
}

export interface Store {
  /** A point-in-time view of the latest commit (see ReadSnapshot). */
  openSnapshot(): ReadSnapshot;
  /** The committed record for an item key, as a view valid until the next store call. Throws
   * DataFormatError for a record this build cannot read. */
  getItem(itemKey: Buffer): Buffer | undefined;
  /** Every committed item in key order from one snapshot, in chunks (the caller may yield
   * between chunks and still sees one point in time). */
  scanItemsSnapshot(chunk?: number): AsyncGenerator<ScannedItem[]>;
  /** Up to `limit` committed items after the item key `after` (from the first with null), in
   * key order, read at the latest commit; records are copies. Holds no read transaction
   * between calls, so a slow reader costs no disk (lru_crawler metadump). */
  scanItems(after: Buffer | null, limit: number): ScannedItem[];
  /** One vBucket's seqno index in [from, to], in seqno order: each entry's item key. */
  scanSeqnos(vbid: number, from: number, to: number): Generator<{ seqno: number; itemKey: Buffer }>;
  getMeta<T>(name: string): T | undefined;
  getVBStates(): Map<number, VBStateRecord>;
  /** Items (keeping the seqno index to one entry per key), vBucket states (full records, and
   * `progress` for vBuckets whose last full record stands otherwise) and metadata, all or
   * nothing; settles with the store's number for the batch once it is committed (on disk, in
   * the commit log). Reads see it once `onApplied` has reported that number. */
  writeBatch<W extends ItemWrite>(writes: readonly W[], vbstates: ReadonlyMap<number, VBStateRecord>, meta: ReadonlyMap<string, unknown>, progress?: VBStateProgress, keys?: ItemKeySource<W>): Promise<number>;
  /** Calls `listener` each time more committed batches are in LMDB: every one numbered up to
   * `through`. */
  onApplied(listener: (through: number) => void): void;
  /** What warmup's replay of the commit log found (the log thread does it at start). */
  replayReport(): Promise<ReplayReport>;
  /** vBucket states (and metadata), committed and synced before it returns. */
  persistVBStatesNow(vbstates: ReadonlyMap<number, VBStateRecord>, meta?: ReadonlyMap<string, unknown>): Promise<void>;
  /** Removes every item, seqno entry and the state of one vBucket. */
  deleteVBucket(vbid: number): Promise<void>;
  /** Makes the next read see the latest commit. */
  refreshReads(): void;
  flushed(): Promise<unknown>;
  /** The kernel ids of the threads that write (the log's, the apply's; 0: not known). */
  writeThreadIds(): number[];
  /** Whether a request other than a batch of writes waits on them (a state persisted at once,
   * a vBucket's deletion, a wait for the applies). */
  requestsWaiting(): boolean;
  /** Resolves once the threads that write have started (their V8 isolates exist), or after
   * `timeoutMs` if they have not: true if they have. */
  threadsStarted(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}
