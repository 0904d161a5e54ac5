/**
 * The engine: memcached item semantics (CAS, expiry, flush, arithmetic, concatenation) over
 * vBuckets, with every mutation taking the vBucket's next seqno and going to LMDB through the
 * flusher. Reads look at pending writes first, then at LMDB, and never wait for a commit.
 * Until warmup enables traffic, item operations answer TempFail.
 */
import type { Store } from '../store/store.js';
import { CasGenerator } from './cas.js';
import { copyBytes } from '../../protocol/bytes.js';
import { absoluteExpiry, isExpired, nowSeconds } from './expiry.js';
import { Flusher, type FlusherPacing } from './flusher.js';
import { ItemCache } from './item-cache.js';
import {
  ItemState,
  RECORD_HEADER_LENGTH,
  encodeRecord,
  recordCas,
  recordDatatype,
  recordExpiry,
  recordFlags,
  recordSeqno,
  recordState,
  recordValueLength,
  withExpiry,
} from './item-record.js';
import { Outcome } from './outcome.js';
import { EngineStats } from './stats.js';
import { VBucket, VBucketState, type PendingWrite, type VBStateRecord } from './vbucket.js';

export const StoreMode = { Set: 0, Add: 1, Replace: 2 } as const;
export type StoreMode = (typeof StoreMode)[keyof typeof StoreMode];

/** A key as the request carries it: bytes inside a frame buffer. */
export interface KeyRef {
  vbid: number;
  buf: Buffer;
  offset: number;
  length: number;
}

/** The item a read found; valid until the next engine call. `value` is an immutable record
 * (resident, or copied from LMDB), so a large one may be referenced instead of copied. */
export interface ItemView {
  cas: number;
  flags: number;
  datatype: number;
  value: Buffer;
  valueOffset: number;
  valueLength: number;
}

export interface EngineOptions {
  vbuckets: number;
  maxValueLength: number;
  /** Byte quota of the resident item cache (0: every read goes to LMDB). */
  cacheBytes?: number;
  pacing?: FlusherPacing;
}

const U64_MAX = (1n << 64n) - 1n;
const META_MAX_CAS = 'maxCas';
const META_FLUSH_CAS = 'flushCas';
const META_FLUSH_AT = 'flushAt';

export class Engine {
  readonly stats = new EngineStats();
  readonly vbuckets: Array<VBucket | undefined>;
  readonly flusher: Flusher;
  readonly cas: CasGenerator;
  readonly cache: ItemCache;
  /** Filled by successful reads. */
  readonly view: ItemView = { cas: 0, flags: 0, datatype: 0, value: Buffer.alloc(0), valueOffset: 0, valueLength: 0 };
  /** CAS of the item written by the last successful mutation. */
  lastCas = 0;
  /** Seqno and vbuuid of the last successful mutation (HELLO MUTATION_SEQNO). */
  lastSeqno = 0;
  lastVbuuid = 0n;
  /** Flusher batch holding the last mutation (what --ack=persist waits for). */
  lastBatch = 0;
  /** Result of the last successful INCREMENT/DECREMENT. */
  lastArith = 0n;
  /** False until warmup has made the failover entries durable. */
  trafficEnabled = false;
  /** Warmup expiries committed so far, and a hook called after each commit that adds some. */
  warmupExpiriesPersisted = 0;
  onWarmupExpiriesPersisted: ((total: number) => void) | null = null;
  /** Items with CAS at or below this were flushed and are invisible. */
  private flushCas: number;
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly scratchKey = Buffer.allocUnsafe(2 + 65535);
  private readonly scratchViews: Array<Buffer | undefined> = [];
  private warmupExpiring = false;
  /** What LMDB held for the key of the last findLive/currentRecord that read it (its record's
   * seqno, 0 for nothing), -1 when that call did not read LMDB: a write right after it tells
   * the resident table, so the flusher need not read LMDB again for the key's old seqno. */
  private diskProbe = -1;

  constructor(
    private readonly disk: Store,
    private readonly options: EngineOptions,
  ) {
    this.vbuckets = new Array<VBucket | undefined>(options.vbuckets).fill(undefined);
    this.cas = new CasGenerator(disk.getMeta<number>(META_MAX_CAS) ?? 0);
    this.cache = new ItemCache(options.cacheBytes ?? 0);
    this.flushCas = disk.getMeta<number>(META_FLUSH_CAS) ?? 0;
    this.flusher = new Flusher(
      disk,
      {
        meta: () => new Map([[META_MAX_CAS, this.cas.current]]),
        vbstate: (vb, high) => ({ ...vb.toRecord(this.cas.current), highSeqno: high, snapStart: vb.persistedHighSeqno + 1, snapEnd: high }),
        diskSeqno: (w) => this.cache.diskSeqnoOf(w.mapKey),
        committed: (writes, highs) => this.batchCommitted(writes, highs),
      },
      options.pacing,
    );
    const flushAt = disk.getMeta<number>(META_FLUSH_AT) ?? 0;
    if (flushAt > 0) this.scheduleFlush(flushAt);
  }

  get vbucketCount(): number {
    return this.vbuckets.length;
  }

  // ---- vBucket management ----

  /** Persists every vBucket's state, current failover table included, and returns once it is
   * committed and synced; from then on the flusher writes that table. */
  async persistVBStates(extraMeta?: ReadonlyMap<string, unknown>, only?: readonly VBucket[]): Promise<void> {
    const records = new Map<number, VBStateRecord>();
    const vbs = only ?? this.vbuckets.filter((v): v is VBucket => v !== undefined);
    for (const vb of vbs) records.set(vb.id, vb.toRecord(this.cas.current, vb.failovers));
    await this.disk.persistVBStatesNow(records, extraMeta);
    for (const vb of vbs) vb.failoversOnDisk = vb.failovers.copy();
  }

  /** SET_VBUCKET: a vBucket made active from another state starts a new branch of history,
   * persisted before the reply so no seqno is ever issued under an entry not on disk. */
  async setVBucketState(vbid: number, state: VBucketState): Promise<Outcome> {
    if (vbid >= this.vbuckets.length) return Outcome.NotMyVBucket;
    let vb = this.vbuckets[vbid];
    if (vb === undefined) {
      vb = new VBucket(vbid);
      vb.state = state;
      this.vbuckets[vbid] = vb;
    } else if (vb.state !== state) {
      if (state === VBucketState.Active) vb.failovers.createEntry(vb.highSeqno);
      vb.state = state;
    } else {
      return Outcome.Success;
    }
    await this.persistVBStates(undefined, [vb]);
    return Outcome.Success;
  }

  /** DEL_VBUCKET: the vBucket is gone at once; its data is removed from disk before `done`. */
  deleteVBucket(vbid: number): { outcome: Outcome; done: Promise<void> } {
    const vb = this.vbuckets[vbid];
    if (vb === undefined) return { outcome: Outcome.NotMyVBucket, done: Promise.resolve() };
    vb.deleted = true;
    vb.pending.clear();
    vb.listeners.clear();
    this.cache.dropVBucket(vbid);
    this.stats.curr_items -= vb.numItems;
    this.stats.bytes -= vb.numBytes;
    this.vbuckets[vbid] = undefined;
    // Queued writes of this vBucket are skipped by the flusher; wait for the batch in flight.
    const done = this.flusher.idle().then(() => this.disk.deleteVBucket(vbid));
    return { outcome: Outcome.Success, done };
  }

  // ---- reads ----

  get(key: KeyRef): Outcome {
    const vb = this.activeVb(key.vbid);
    this.stats.cmd_get++;
    if (vb === null) return this.trafficEnabled ? Outcome.NotMyVBucket : Outcome.TempFail;
    const rec = this.findLive(vb, key, true);
    if (!rec) {
      this.stats.get_misses++;
      return Outcome.NotFound;
    }
    this.stats.get_hits++;
    return Outcome.Success;
  }

  /** TOUCH and GAT: new expiry, same value, flags and CAS (memcached 1.6); a new seqno. */
  touch(key: KeyRef, exptime: number): Outcome {
    const vb = this.activeVb(key.vbid);
    this.stats.cmd_touch++;
    if (vb === null) return this.unavailable();
    if (this.flusher.failed) return Outcome.TempFail;
    const rec = this.findLive(vb, key, true);
    if (!rec) {
      this.stats.touch_misses++;
      return Outcome.NotFound;
    }
    this.stats.touch_hits++;
    const updated = withExpiry(rec, absoluteExpiry(exptime, nowSeconds()), vb.nextSeqno());
    this.write(vb, key, updated, recordSeqno(updated));
    this.fillView(updated);
    return Outcome.Success;
  }

  // ---- writes ----

  store(mode: StoreMode, key: KeyRef, flags: number, exptime: number, cas: number, value: Buffer, valueOffset: number, valueLength: number, datatype: number): Outcome {
    const vb = this.activeVb(key.vbid);
    this.stats.cmd_set++;
    if (vb === null) return this.unavailable();
    if (this.flusher.failed) return Outcome.TempFail;
    const old = this.findLive(vb, key, false);
    if (cas !== 0) {
      // Any store with a CAS is a compare-and-swap (memcached NREAD_CAS).
      if (!old) {
        this.stats.cas_misses++;
        return Outcome.NotFound;
      }
      if (recordCas(old) !== cas) {
        this.stats.cas_badval++;
        return Outcome.Exists;
      }
      this.stats.cas_hits++;
    } else if (mode === StoreMode.Add && old) {
      return Outcome.Exists;
    } else if (mode === StoreMode.Replace && !old) {
      return Outcome.NotStored;
    }
    const seqno = vb.nextSeqno();
    const rec = encodeRecord(
      { state: ItemState.Live, datatype, flags, expiry: absoluteExpiry(exptime, nowSeconds()), cas: this.cas.next(), seqno },
      value,
      valueOffset,
      valueLength,
    );
    this.replaceLive(vb, old, rec);
    this.write(vb, key, rec, seqno);
    return Outcome.Success;
  }

  /** A SET whose value was too large: memcached drops the old item so no stale value stays. */
  dropForOversizedSet(key: KeyRef): void {
    const vb = this.activeVb(key.vbid);
    if (vb === null || this.flusher.failed) return;
    const old = this.findLive(vb, key, false);
    if (old) this.tombstone(vb, key, old, ItemState.Deleted);
  }

  concat(append: boolean, key: KeyRef, cas: number, value: Buffer, valueOffset: number, valueLength: number): Outcome {
    const vb = this.activeVb(key.vbid);
    this.stats.cmd_set++;
    if (vb === null) return this.unavailable();
    if (this.flusher.failed) return Outcome.TempFail;
    const old = this.findLive(vb, key, false);
    if (!old) return Outcome.NotStored;
    if (cas !== 0 && recordCas(old) !== cas) return Outcome.Exists;
    const oldLength = recordValueLength(old);
    if (oldLength + valueLength > this.options.maxValueLength) return Outcome.TooLarge;
    const seqno = vb.nextSeqno();
    const rec = encodeRecord(
      { state: ItemState.Live, datatype: recordDatatype(old), flags: recordFlags(old), expiry: recordExpiry(old), cas: this.cas.next(), seqno },
      null,
      0,
      oldLength + valueLength,
    );
    if (append) {
      old.copy(rec, RECORD_HEADER_LENGTH, RECORD_HEADER_LENGTH, old.length);
      value.copy(rec, RECORD_HEADER_LENGTH + oldLength, valueOffset, valueOffset + valueLength);
    } else {
      value.copy(rec, RECORD_HEADER_LENGTH, valueOffset, valueOffset + valueLength);
      old.copy(rec, RECORD_HEADER_LENGTH + valueLength, RECORD_HEADER_LENGTH, old.length);
    }
    this.replaceLive(vb, old, rec);
    this.write(vb, key, rec, seqno);
    return Outcome.Success;
  }

  arith(incr: boolean, key: KeyRef, delta: bigint, initial: bigint, exptime: number, createIfMissing: boolean, cas: number): Outcome {
    const vb = this.activeVb(key.vbid);
    if (vb === null) return this.unavailable();
    if (this.flusher.failed) return Outcome.TempFail;
    const old = this.findLive(vb, key, false);
    let result: bigint;
    let flags = 0;
    let expiry: number;
    if (!old) {
      if (!createIfMissing) {
        if (incr) this.stats.incr_misses++;
        else this.stats.decr_misses++;
        return Outcome.NotFound;
      }
      result = initial;
      expiry = absoluteExpiry(exptime, nowSeconds());
    } else {
      const current = parseCounter(old, RECORD_HEADER_LENGTH);
      if (current === null) return Outcome.NonNumeric;
      if (cas !== 0 && recordCas(old) !== cas) return Outcome.Exists;
      if (incr) {
        result = (current + delta) & U64_MAX;
        this.stats.incr_hits++;
      } else {
        result = delta > current ? 0n : current - delta;
        this.stats.decr_hits++;
      }
      flags = recordFlags(old);
      expiry = recordExpiry(old);
    }
    const text = Buffer.from(result.toString(), 'latin1');
    const seqno = vb.nextSeqno();
    const rec = encodeRecord({ state: ItemState.Live, datatype: 0, flags, expiry, cas: this.cas.next(), seqno }, text, 0, text.length);
    this.replaceLive(vb, old, rec);
    this.write(vb, key, rec, seqno);
    this.lastArith = result;
    return Outcome.Success;
  }

  delete(key: KeyRef, cas: number): Outcome {
    const vb = this.activeVb(key.vbid);
    if (vb === null) return this.unavailable();
    if (this.flusher.failed) return Outcome.TempFail;
    const old = this.findLive(vb, key, false);
    if (!old) {
      this.stats.delete_misses++;
      return Outcome.NotFound;
    }
    if (cas !== 0 && recordCas(old) !== cas) return Outcome.Exists;
    this.stats.delete_hits++;
    this.tombstone(vb, key, old, ItemState.Deleted);
    this.lastCas = 0;
    return Outcome.Success;
  }

  /** FLUSH: every item stored before now (or before `delay` seconds from now) disappears. */
  flush(delay: number): Outcome {
    if (!this.trafficEnabled) return Outcome.TempFail;
    this.stats.cmd_flush++;
    if (delay > 0) {
      const at = absoluteExpiry(delay, nowSeconds());
      this.lastBatch = this.flusher.setMeta(META_FLUSH_AT, at);
      this.scheduleFlush(at);
      return Outcome.Success;
    }
    this.flushNow();
    return Outcome.Success;
  }

  // ---- warmup support ----

  /** Adds the counts of items that existed before traffic started (warmup's scan). */
  addWarmupCounts(vbid: number, items: number, bytes: number): void {
    const vb = this.vbuckets[vbid];
    if (vb) {
      vb.numItems += items;
      vb.numBytes += bytes;
    }
    this.stats.curr_items += items;
    this.stats.bytes += bytes;
  }

  /** Whether a record seen by warmup's snapshot scan is live in the engine's terms. */
  isLiveRecord(record: Buffer): boolean {
    return recordState(record) === ItemState.Live && recordCas(record) > this.flushCas;
  }

  /** Expires an item warmup found expired, unless a client changed it since the snapshot.
   * Returns true when an expiration (a new seqno) was issued. */
  expireFromWarmup(storeKey: Buffer, snapshotSeqno: number): boolean {
    const vbid = storeKey.readUInt16BE(0);
    const vb = this.vbuckets[vbid];
    if (vb === undefined || vb.state !== VBucketState.Active) return false;
    const key: KeyRef = { vbid, buf: storeKey, offset: 2, length: storeKey.length - 2 };
    const rec = this.currentRecord(key);
    if (rec === undefined || recordSeqno(rec) !== snapshotSeqno || recordState(rec) !== ItemState.Live) return false;
    this.warmupExpiring = true;
    try {
      this.tombstone(vb, key, rec, ItemState.Expired);
    } finally {
      this.warmupExpiring = false;
    }
    return true;
  }

  /** Whether the purger may remove this record: a tombstone older than `maxAge` seconds, or
   * an item a FLUSH made invisible. */
  isPurgeable(record: Buffer, now: number, maxAge: number): boolean {
    if (recordState(record) === ItemState.Live) return recordCas(record) <= this.flushCas;
    return recordExpiry(record) + maxAge <= now;
  }

  /** Removes a record the purger chose, unless it changed since the purger's snapshot. A
   * purged tombstone raises its vBucket's purge seqno: a consumer that has not seen it must
   * then roll back to 0. Returns true when a removal was queued. */
  purge(storeKey: Buffer, snapshotSeqno: number): boolean {
    const vbid = storeKey.readUInt16BE(0);
    const vb = this.vbuckets[vbid];
    if (vb === undefined || this.flusher.failed) return false;
    const key: KeyRef = { vbid, buf: storeKey, offset: 2, length: storeKey.length - 2 };
    const rec = this.currentRecord(key);
    if (rec === undefined || recordSeqno(rec) !== snapshotSeqno) return false;
    if (recordState(rec) !== ItemState.Live && snapshotSeqno > vb.purgeSeqno) vb.purgeSeqno = snapshotSeqno;
    const w: PendingWrite = { vb, mapKey: storeKey.toString('latin1'), storeKey: Buffer.from(storeKey), record: null, seqno: snapshotSeqno, batch: 0, warmupExpiry: false };
    this.flusher.enqueue(w);
    this.stats.purged++;
    return true;
  }

  /** Resolves when everything written so far is committed. */
  settle(): Promise<void> {
    return this.flusher.idle();
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }

  // ---- internals ----

  private batchCommitted(writes: readonly PendingWrite[], highs: ReadonlyMap<VBucket, number>): void {
    // An entry still holding a committed write turns clean, or goes if it is a tombstone; one
    // holding a newer write stays as it is. A purge drops the entry unless a newer write came.
    // In batch order, so a key written twice ends with the seqno of the write that reached disk.
    for (const w of writes) {
      if (w.vb.deleted) continue;
      if (w.record !== null) this.cache.settle(w.mapKey, w.record, w.seqno, recordState(w.record) === ItemState.Live);
      else this.cache.purged(w.mapKey, w.seqno, recordSeqno);
    }
    for (const [vb, high] of highs) {
      vb.snapStart = vb.persistedHighSeqno + 1;
      vb.snapEnd = high;
      vb.persistedHighSeqno = high;
    }
    let expiries = 0;
    for (const w of writes) if (w.warmupExpiry) expiries++;
    if (expiries > 0) {
      this.warmupExpiriesPersisted += expiries;
      this.onWarmupExpiriesPersisted?.(this.warmupExpiriesPersisted);
    }
  }

  private unavailable(): Outcome {
    return this.trafficEnabled ? Outcome.NotMyVBucket : Outcome.TempFail;
  }

  private flushNow(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.flushCas = this.cas.next();
    this.cache.clear();
    this.stats.curr_items = 0;
    this.stats.bytes = 0;
    for (const vb of this.vbuckets) {
      if (vb === undefined) continue;
      vb.numItems = 0;
      vb.numBytes = 0;
    }
    this.flusher.setMeta(META_FLUSH_AT, 0);
    this.lastBatch = this.flusher.setMeta(META_FLUSH_CAS, this.flushCas);
  }

  private scheduleFlush(at: number): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    const ms = Math.max(0, at * 1000 - Date.now());
    this.flushTimer = setTimeout(() => this.flushNow(), ms);
    this.flushTimer.unref();
  }

  /** The vBucket for an item operation, or null (missing, not active, or warmup not done). */
  private activeVb(vbid: number): VBucket | null {
    if (!this.trafficEnabled) return null;
    const vb = this.vbuckets[vbid];
    return vb !== undefined && vb.state === VBucketState.Active ? vb : null;
  }

  /** The newest record for a key: resident (every uncommitted write is), else committed (then
   * an LMDB view). */
  private currentRecord(key: KeyRef): Buffer | undefined {
    this.diskProbe = -1;
    const storeKey = this.storeKeyView(key);
    const cached = this.cache.peek(storeKey.toString('latin1'));
    if (cached !== undefined) return cached;
    const view = this.disk.getItem(storeKey);
    this.diskProbe = view === undefined ? 0 : recordSeqno(view);
    return view;
  }

  /** The live record for a key, or null (expired items found here are expired for good).
   * With `fill`, the view describes it. The record is immutable: resident (every uncommitted
   * write is), or read from LMDB and copied into the cache. */
  private findLive(vb: VBucket, key: KeyRef, fill: boolean): Buffer | null {
    this.diskProbe = -1;
    let rec = this.cache.get(key.vbid, key.buf, key.offset, key.length);
    let storeKey: Buffer | null = null;
    if (rec === undefined) {
      storeKey = this.storeKeyView(key);
      const view = this.disk.getItem(storeKey);
      this.diskProbe = view === undefined ? 0 : recordSeqno(view);
      if (view === undefined || recordState(view) !== ItemState.Live) return null;
      rec = Buffer.from(view);
    }
    if (recordState(rec) !== ItemState.Live) return null;
    const cas = recordCas(rec);
    if (cas <= this.flushCas) {
      if (fill) this.stats.get_flushed++;
      return null;
    }
    const expiry = recordExpiry(rec);
    if (expiry !== 0 && isExpired(expiry, nowSeconds())) {
      if (fill) this.stats.get_expired++;
      this.tombstone(vb, key, rec, ItemState.Expired);
      return null;
    }
    if (storeKey !== null) this.cache.putClean(storeKey.toString('latin1'), rec, this.diskProbe);
    if (fill) this.fillView(rec);
    return rec;
  }

  private fillView(rec: Buffer): void {
    const v = this.view;
    v.cas = recordCas(rec);
    v.flags = recordFlags(rec);
    v.datatype = recordDatatype(rec);
    v.value = rec;
    v.valueOffset = RECORD_HEADER_LENGTH;
    v.valueLength = rec.length - RECORD_HEADER_LENGTH;
  }

  /** Replaces a live item (or none) by a new live record, keeping the counters right. */
  private replaceLive(vb: VBucket, old: Buffer | null, rec: Buffer): void {
    const delta = recordValueLength(rec) - (old ? recordValueLength(old) : 0);
    if (!old) {
      this.stats.curr_items++;
      vb.numItems++;
    }
    this.stats.bytes += delta;
    vb.numBytes += delta;
    this.stats.total_items++;
  }

  private tombstone(vb: VBucket, key: KeyRef, old: Buffer, state: ItemState): void {
    this.stats.curr_items--;
    vb.numItems--;
    this.stats.bytes -= recordValueLength(old);
    vb.numBytes -= recordValueLength(old);
    if (state === ItemState.Expired) this.stats.reclaimed++;
    const seqno = vb.nextSeqno();
    // A tombstone's expiry field holds its deletion time, which the purger ages it by.
    const rec = encodeRecord({ state, datatype: 0, flags: 0, expiry: nowSeconds(), cas: this.cas.next(), seqno }, null, 0, 0);
    this.write(vb, key, rec, seqno);
  }

  private write(vb: VBucket, key: KeyRef, record: Buffer, seqno: number): void {
    const storeKey = Buffer.allocUnsafe(2 + key.length);
    storeKey[0] = vb.id >>> 8;
    storeKey[1] = vb.id;
    copyBytes(key.buf, key.offset, storeKey, 2, key.length);
    const w: PendingWrite = { vb, mapKey: storeKey.toString('latin1'), storeKey, record, seqno, batch: 0, warmupExpiry: this.warmupExpiring };
    vb.pending.set(w.mapKey, w);
    this.cache.putDirty(w.mapKey, record, this.diskProbe);
    this.lastBatch = this.flusher.enqueue(w);
    this.lastCas = recordCas(record);
    this.lastSeqno = seqno;
    this.lastVbuuid = vb.uuid;
    if (vb.listeners.size > 0) for (const l of vb.listeners) l(w);
  }

  /** Whether a record is invisible because a FLUSH came after it. */
  isFlushed(record: Buffer): boolean {
    return recordCas(record) <= this.flushCas;
  }

  /** The committed record of a key given as its LMDB key (vbid + key); an LMDB view. */
  committedRecord(storeKey: Buffer): Buffer | undefined {
    return this.disk.getItem(storeKey);
  }

  /** The LMDB key of `key`, built in a reused buffer: one view per key length, made once, so
   * a read allocates nothing here. */
  private storeKeyView(key: KeyRef): Buffer {
    const s = this.scratchKey;
    s[0] = key.vbid >>> 8;
    s[1] = key.vbid;
    copyBytes(key.buf, key.offset, s, 2, key.length);
    const n = 2 + key.length;
    let view = this.scratchViews[n];
    if (view === undefined) view = this.scratchViews[n] = s.subarray(0, n);
    return view;
  }
}

/** memcached's safe_strtoull on an item value: optional leading spaces, digits, then the end
 * or whitespace; anything else (or a value over 2^64-1) is not a number. */
function parseCounter(rec: Buffer, from: number): bigint | null {
  let i = from;
  const end = rec.length;
  while (i < end && isSpace(rec[i])) i++;
  const digitsStart = i;
  while (i < end && rec[i] >= 0x30 && rec[i] <= 0x39) i++;
  if (i === digitsStart) return null;
  if (i < end && !isSpace(rec[i])) return null;
  if (i - digitsStart > 20) return null;
  const n = BigInt(rec.toString('latin1', digitsStart, i));
  return n > U64_MAX ? null : n;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

