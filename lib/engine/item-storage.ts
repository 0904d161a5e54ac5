/**
 * Where item records live: the resident table in front of the store, the flusher behind it.
 * The engine reads the newest record of a key here and hands every write here; nothing else
 * touches the table or the flusher. Every write lands in the table at once (pinned until its
 * commit), joins its vBucket's pending writes, goes to the flusher and to the vBucket's
 * listeners (DCP streams).
 */
import { ItemKeyScratch, vbucketPrefixString } from '../store/key-codec.js';
import { ItemState, recordSeqno, recordStateAt } from '../store/record.js';
import { CommittedWrites } from './committed-writes.js';
import type { ReadSnapshot, ScannedItem, Store } from '../store/store.js';
import type { CommitWatch } from './commit-watch.js';
import { Flusher, type FlusherPacing } from './flusher.js';
import type { RecordLocation } from './entry-records.js';
import * as arena from './record-arena.js';
import { ItemCache } from './item-cache.js';
import { PendingWritePool } from './pending-write-pool.js';
import { storageStats, type StorageStats } from './storage-stats.js';
import type { KeyRef } from './requests.js';
import type { RequestKeys } from '../../protocol/request-keys.js';
import type { PendingWrite, VBucket } from './vbucket.js';

export type { StorageStats };
// A module constant, not the imported binding (why: bucket-table.ts).
const { PAGE_SIZE } = arena;

/** What a lookup learned about the store: the seqno LMDB holds for the key (0 none), or -1 when
 * the lookup did not read LMDB (the record, if any, is resident; one from LMDB is a view that a
 * caller keeping it copies first). */
export interface DiskProbe {
  diskSeqno: number;
  /** The revision seqno of whatever record the lookup found, tombstones included (0: none). */
  rev: number;
  /** The resident entry the lookup found (-1: none or not noted): a write of the key that
   * follows at once hands it to the table, which checks it and skips a second hash probe. */
  entry: number;
}

export function newDiskProbe(): DiskProbe {
  return { diskSeqno: -1, rev: 0, entry: -1 };
}

export interface ItemStorageOptions {
  /** Byte quota of the resident table (0: only uncommitted writes stay resident). */
  cacheBytes: number;
  /** Most entries of the resident table, below its real limit (tests only; 0: the real one). */
  cacheEntryLimit?: number;
  pacing: FlusherPacing;
  /** Meta values refreshed into every batch (the CAS high-water mark). */
  meta(): ReadonlyMap<string, unknown>;
  /** The max CAS persisted with every vBucket state. */
  maxCas(): number;
  /** Called after a commit that made warmup expiries durable, with the running total. */
  warmupExpiriesPersisted(total: number): void;
}

/** A committed write not yet in LMDB, as the resident table holds it. */
export interface UnappliedRecord {
  keyString: string;
  record: Buffer;
}

/** What a DCP backfill reads: committed items by seqno, from the latest commit or from one
 * point in time held open for the whole disk snapshot. */
export interface BackfillSource {
  /** The item key of a write not yet committed as a string, made if it has none yet (a write
   * a DCP stream queued has one from the start). */
  keyStringOf(w: PendingWrite): string;
  committedBySeqno(vbid: number, from: number, to: number, snapshot?: ReadSnapshot): Generator<{ seqno: number; itemKey: Buffer; record: Buffer }>;
  openSnapshot(): ReadSnapshot;
  unappliedRecords(vb: VBucket, after: number, to: number): UnappliedRecord[];
}

export class ItemStorage implements BackfillSource {
  private readonly cache: ItemCache;
  private readonly flusher: Flusher<CommittedWrites>;
  private readonly scratch = new ItemKeyScratch();
  private readonly writes = new PendingWritePool();
  private warmupExpiries = 0;

  constructor(
    private readonly store: Store,
    private readonly options: ItemStorageOptions,
  ) {
    this.cache = new ItemCache(options.cacheBytes, { entries: options.cacheEntryLimit || undefined });
    this.flusher = new Flusher(
      store,
      {
        meta: options.meta,
        maxCas: options.maxCas,
        committed: (highs, writes) => this.committed(highs, writes),
        applied: (writes, highs) => this.applied(writes, highs),
        supersededBy: (w, lastStamp) => this.supersededBy(w, lastStamp),
        keys: {
          keyLength: (w) => this.cache.keyLengthAt(this.entryHolding(w)),
          putKey: (w, dst, at) => void this.cache.copyKey(this.entryHolding(w), dst, at),
        },
        keyString: (w) => this.keyStringOf(w),
      },
      options.pacing,
    );
  }

  // ---- reads ----

  /** The newest record of a request's key: resident (counted as a hit), else the committed one
   * as an LMDB view valid until the next store call, with what LMDB holds noted in `probe`. */
  lookup(key: KeyRef, probe: DiskProbe, fetch = false): Buffer | undefined {
    probe.diskSeqno = -1;
    probe.entry = -1;
    const itemKey = this.scratch.view(key.vbid, key.buf, key.offset, key.length);
    return this.cache.get(itemKey, 0, itemKey.length, fetch) ?? this.lookupStored(key, probe);
  }

  /** A read of a key: its entry when resident (counted as a hit), the record described in
   * `loc` (no Buffer made for it); else -1, a miss counted, and `lookupStored` follows. */
  locateResident(key: KeyRef, fetch: boolean, loc: RecordLocation): number {
    return this.cache.locate(key.vbid, key.buf, key.offset, key.length, fetch, loc);
  }

  /** `lookup`'s second half, for a key not resident: LMDB's committed record (a view valid
   * until the next store call), with what LMDB holds noted in `probe`. */
  lookupStored(key: KeyRef, probe: DiskProbe): Buffer | undefined {
    probe.entry = -1;
    const view = this.store.getItem(this.scratch.view(key.vbid, key.buf, key.offset, key.length));
    probe.diskSeqno = view === undefined ? 0 : recordSeqno(view);
    return view;
  }

  /** The newest record of an item key (warmup, purger), uncounted; an LMDB view if not
   * resident. */
  current(itemKey: Buffer, probe: DiskProbe): Buffer | undefined {
    probe.diskSeqno = -1;
    probe.entry = -1;
    const resident = this.cache.peek(itemKey.toString('latin1'));
    if (resident !== undefined) return resident;
    const view = this.store.getItem(itemKey);
    probe.diskSeqno = view === undefined ? 0 : recordSeqno(view);
    return view;
  }

  /** Touches what the requests of `keys` will read (key-prefetch.ts). */
  prefetch(buf: Uint8Array, keys: RequestKeys): void {
    this.cache.prefetcher.run(buf, keys);
  }

  /** Keeps a committed live record (a copy, never modified) resident as the quota allows. */
  keepResident(key: KeyRef, record: Buffer, fetched = false): void {
    this.cache.putClean(this.scratch.view(key.vbid, key.buf, key.offset, key.length).toString('latin1'), record, fetched);
  }

  /** A resident key's fetched bit and last access (ItemCache.access), or -1. */
  accessOf(key: KeyRef): number {
    const itemKey = this.scratch.view(key.vbid, key.buf, key.offset, key.length);
    return this.cache.access(itemKey, 0, itemKey.length);
  }

  /** What is resident (ItemCache.residents). */
  residents(): Generator<[string, Buffer]> {
    return this.cache.residents();
  }

  /** Committed items after an item key, from the latest commit (Store.scanItems). */
  scanCommitted(after: Buffer | null, limit: number): ScannedItem[] {
    return this.store.scanItems(after, limit);
  }

  /** The committed record of an item key; an LMDB view. */
  committedRecord(itemKey: Buffer): Buffer | undefined {
    return this.store.getItem(itemKey);
  }

  /** The latest commit as one point in time. */
  openSnapshot(): ReadSnapshot {
    return this.store.openSnapshot();
  }

  /** Committed items of one vBucket with seqnos in [from, to], in seqno order (DCP backfill),
   * from `snapshot` when given, else from the latest commit. Records are LMDB views, valid
   * until the next store call. */
  *committedBySeqno(vbid: number, from: number, to: number, snapshot?: ReadSnapshot): Generator<{ seqno: number; itemKey: Buffer; record: Buffer }> {
    const reader = snapshot ?? this.store;
    for (const { seqno, itemKey } of reader.scanSeqnos(vbid, from, to)) {
      const record = reader.getItem(itemKey);
      // The index and the items come from one read snapshot, so the seqnos agree.
      if (record !== undefined && recordSeqno(record) === seqno) yield { seqno, itemKey, record };
    }
  }

  // ---- writes ----

  /** Issues a write of `record` (an immutable Buffer) for `key` in `vb`; returns the batch that
   * will commit it. `entry`: the key's resident entry as a lookup just found it (-1: not known). */
  write(vb: VBucket, key: KeyRef, record: Buffer, seqno: number, warmupExpiry: boolean, entry = -1): number {
    return this.issue(vb, key, record, -1, record.length, seqno, warmupExpiry, entry);
  }

  /** A chunk of the resident table's arena for a SET's record of `length` bytes, which the
   * caller writes (`chunkPage`) and issues with `writeChunk`; -1: make a Buffer and `write` it
   * (the arena does not keep it). A DCP stream that still queues the write at its commit, when
   * the chunk may be reused, gets a copy then (`committed`). */
  reserveRecord(length: number): number {
    return this.cache.reserveRecord(length);
  }

  /** The arena page of a reserved chunk (the record starts at `chunk % PAGE_SIZE`). */
  chunkPage(chunk: number): Buffer {
    return this.cache.chunkPage(chunk);
  }

  /** The DataView of that page (ItemCache.chunkData). */
  chunkData(chunk: number): DataView {
    return this.cache.chunkData(chunk);
  }

  /** `write` for a record written into the reserved `chunk`. */
  writeChunk(vb: VBucket, key: KeyRef, chunk: number, recordLength: number, seqno: number, entry: number): number {
    return this.issue(vb, key, null, chunk, recordLength, seqno, false, entry);
  }

  private issue(vb: VBucket, key: KeyRef, record: Buffer | null, chunk: number, recordLength: number, seqno: number, warmupExpiry: boolean, entry: number): number {
    const itemKey = this.scratch.view(vb.id, key.buf, key.offset, key.length);
    // The key stays in the resident table's entry alone, unless a DCP stream queues the write.
    const keyString = vb.listeners.size > 0 ? itemKey.toString('latin1') : null;
    const page = record === null ? this.cache.chunkPage(chunk) : record;
    const w = this.writes.take(vb, keyString, itemKey.length, page, record === null ? chunk % PAGE_SIZE : 0, recordLength, chunk, seqno, warmupExpiry);
    if (record === null) w.recordData = this.cache.chunkData(chunk);
    vb.pending.push(w);
    w.entry = record === null ? this.cache.putDirtyChunk(itemKey, 0, itemKey.length, chunk, recordLength, entry) : this.cache.putDirtyKey(itemKey, 0, itemKey.length, record, entry);
    w.stamp = this.cache.stampOf(w.entry);
    w.generation = this.cache.generation;
    w.live = recordStateAt(page, w.recordAt) === ItemState.Live;
    const batch = this.flusher.enqueue(w);
    if (vb.listeners.size > 0) for (const l of vb.listeners) l(w);
    return batch;
  }

  /** Queues the removal of a record (the purger's), which issues no seqno. */
  remove(vb: VBucket, itemKey: Buffer, seqno: number): void {
    this.flusher.enqueue(this.writes.take(vb, itemKey.toString('latin1'), itemKey.length, null, 0, 0, -1, seqno, false));
  }

  /** Queues a metadata update with the next batch; returns that batch. */
  setMeta(name: string, value: unknown): number {
    return this.flusher.setMeta(name, value);
  }

  /** Forgets the resident records of one vBucket (DEL_VBUCKET). */
  dropVBucket(vbid: number): void {
    this.keepKeysOfUncommitted();
    this.cache.dropPrefix(vbucketPrefixString(vbid));
  }

  /** Forgets every resident record (FLUSH). */
  dropAll(): void {
    this.keepKeysOfUncommitted();
    this.cache.clear();
  }

  /** The item key of a write not yet committed as a string, made from its entry (and kept)
   * if the write has none yet. A committed write's entry may be ejected and reused. */
  keyStringOf(w: PendingWrite): string {
    if (w.keyString === null) w.keyString = this.cache.keyAt(this.entryHolding(w));
    return w.keyString;
  }

  /** The entry holding the key of `w`, a write made without a key string: its own (pinned
   * until the write commits, and only a newer write of the same key replaces its record), as
   * long as no FLUSH or DEL_VBUCKET has taken entries since, which `keepKeysOfUncommitted`
   * makes sure of. */
  private entryHolding(w: PendingWrite): number {
    if (w.generation !== this.cache.generation) throw new Error(`a write of seqno ${w.seqno} lost its key`);
    return w.entry;
  }

  /** Entries (and, for FLUSH, the arena) are about to change hands: every uncommitted write
   * takes its key string and a copy of its record along. */
  private keepKeysOfUncommitted(): void {
    this.flusher.forEachUncommitted((w) => {
      this.keyStringOf(w);
      const chunk = w.chunk;
      if (chunk < 0 || w.record === null) return;
      this.copyRecordOut(w);
      this.cache.detachChunk(w.entry, w.stamp, chunk, w.recordLength);
    });
  }

  // ---- commits ----

  /** False while a commit keeps failing (disk full, I/O errors): new writes could not be
   * persisted, so they are refused until a retry commits. False too while the resident table
   * has no room for another key (item-cache.ts hasRoom). */
  get writable(): boolean {
    return !this.flusher.blocked && this.cache.hasRoom;
  }

  /** Commits as they happen, for replies held until theirs. */
  get commits(): CommitWatch {
    return this.flusher;
  }

  /** Resolves once every write made so far is in LMDB, however many follow. */
  appliedSoFar(): Promise<void> {
    return this.flusher.appliedSoFar();
  }

  /** Resolves when everything written so far is committed. */
  settle(): Promise<void> {
    return this.flusher.idle();
  }

  stats(): StorageStats {
    return storageStats(this.flusher, this.cache);
  }

  /** Durable: the persisted seqnos move, warmup's expiries count as persisted, and the writes
   * leave the V8 heap: their records go into the arena (pinned until applied) and the batch is
   * kept as rows (committed-writes.ts); their objects go back to the pool (pending-write-pool.ts). */
  private committed(highs: ReadonlyMap<VBucket, number>, writes: readonly PendingWrite[]): CommittedWrites {
    for (const [vb, high] of highs) vb.persisted(high);
    const kept = new CommittedWrites(writes.length);
    let expiries = 0;
    for (const w of writes) {
      if (w.warmupExpiry) expiries++;
      // A stream's queue still holds it: its record leaves the chunk, which may be reused now.
      const chunk = w.chunk;
      if (w.streams > 0 && chunk >= 0) this.copyRecordOut(w);
      if (w.vb.deleted) {
        if (chunk >= 0) this.cache.committed(w.entry, w.stamp, chunk, w.recordLength);
        this.writes.give(w);
        continue;
      }
      if (w.record === null) {
        kept.purges.push(w);
      } else {
        kept.add(w.entry, w.stamp, w.vb.id, w.seqno, w.live);
        this.cache.committed(w.entry, w.stamp, chunk, w.recordLength);
        this.writes.give(w);
      }
    }
    if (expiries > 0) {
      this.warmupExpiries += expiries;
      this.options.warmupExpiriesPersisted(this.warmupExpiries);
    }
    return kept;
  }

  /** `w`'s record, from its chunk into a Buffer of its own (the caller tells the cache). */
  private copyRecordOut(w: PendingWrite): void {
    w.record = Buffer.from((w.record as Buffer).subarray(w.recordAt, w.recordAt + w.recordLength));
    w.recordAt = 0;
    w.recordData = null;
    w.chunk = -1;
  }

  /** Whether the entry of `w` holds a newer write of its key stamped at most `lastStamp`.
   * Stamps grow in issue order (modulo 2^32); in the same table generation the entry has held
   * `w`'s key throughout (an uncommitted write's entry is pinned; only FLUSH, DEL_VBUCKET and
   * delete take entries from under it, and they start a new generation). */
  private supersededBy(w: PendingWrite, lastStamp: number): boolean {
    if (w.generation !== this.cache.generation) return false;
    const now = this.cache.stampOf(w.entry);
    return now !== w.stamp && now !== 0 && ((now - w.stamp) >>> 0) <= ((lastStamp - w.stamp) >>> 0);
  }

  /** In LMDB: resident entries may turn clean (and be ejected), DCP backfills read it there. */
  private applied(kept: CommittedWrites, highs: ReadonlyMap<VBucket, number>): void {
    // An entry still holding an applied write turns clean, or goes if it is a tombstone; one
    // holding a newer write stays as it is. A purge drops the entry unless a newer write came.
    for (let i = 0; i < kept.size; i++) this.cache.settle(kept.entry(i), kept.stamp(i), kept.live(i));
    for (const w of kept.purges) this.cache.purged(this.keyStringOf(w), w.seqno, recordSeqno);
    for (const [vb, high] of highs) if (high > vb.appliedHighSeqno) vb.appliedHighSeqno = high;
  }

  /**
   * The records of `vb`'s committed writes not yet in LMDB with seqnos in (after, to], oldest
   * first (a DCP stream moving from disk to memory; `vb.pending` has the uncommitted rest).
   * Views valid until the table changes. Only a write its entry still holds is there: one
   * rewritten since is left out, as a disk backfill leaves it out (LMDB keeps a key's newest
   * version only), the newer write being sent in its turn if it is in the range; one whose
   * entry a FLUSH or DEL_VBUCKET dropped is hidden by the flush or belongs to a vBucket gone.
   */
  unappliedRecords(vb: VBucket, after: number, to: number): UnappliedRecord[] {
    const out: UnappliedRecord[] = [];
    for (const kept of this.flusher.unappliedKept()) {
      for (const i of kept.rowsOf(vb.id)) {
        const seqno = kept.seqno(i);
        const e = kept.entry(i);
        if (seqno > after && seqno <= to && this.cache.holdsWrite(e, kept.stamp(i))) out.push({ keyString: this.cache.keyAt(e), record: this.cache.recordAt(e) });
      }
    }
    return out;
  }

  /** The resident table's quota in bytes (memcached's cache_memlimit). */
  setCacheQuota(bytes: number): void {
    this.cache.setQuota(bytes);
  }
}
