/**
 * The engine: memcached item semantics (CAS, expiry, flush, arithmetic, concatenation) over
 * the vBuckets of a KVBucket, every mutation taking its vBucket's next seqno and going to the
 * store through ItemStorage. Results go into objects the caller passes in (requests.ts).
 */
import type { Store } from '../store/store.js';
import type { RequestKeys } from '../../protocol/request-keys.js';
import * as recordFormat from '../store/record.js';
import { ItemState, encodeRecord, encodeRecordAt, setLiveFields, type RecordFields, recordCas, recordDatatype, recordExpiry, recordFlags, recordRevSeqno, recordSeqno, recordState, recordValueLength, recordValueOffset, withExpiry } from '../store/record.js';
import { fillView, setResult, setResultAt } from './results.js';
import * as arena from './record-arena.js';
import { itemKeyVbid } from '../store/key-codec.js';
import { NO_TEST_HOOKS, type TestHooks } from '../test-hooks.js';
import { CasGenerator } from './cas.js';
import { applyDelta, parseCounter } from './counter.js';
import { expiryFromNow, nowSeconds } from './expiry.js';
import { ItemStorage, newDiskProbe, type BackfillSource, type DiskProbe, type StorageStats } from './item-storage.js';
import { KVBucket } from './kv-bucket.js';
import { Outcome } from './outcome.js';
import { keyRefOf, StoreMode, type ArithArgs, type ConcatArgs, type ItemView, type KeyRef, type MutationResult, type StoreArgs } from './requests.js';
import { EngineStats } from './stats.js';
import { FlushBarrier, type FlushEvents } from './flush-barrier.js';
import type { CommitWatch } from './commit-watch.js';
import { VBucketState, type VBucket } from './vbucket.js';
import { ReplicaVBuckets } from './replica-vbuckets.js';
import { ItemReads, type LiveItem } from './item-reads.js';
import { ItemDump } from './item-dump.js';

// Module constants, not imported bindings (why: bucket-table.ts).
const { RECORD_HEADER_LENGTH } = recordFormat, { PAGE_SIZE } = arena;

export interface EngineOptions {
  vbuckets: number;
  maxValueLength: number;
  /** Byte quota of the resident item table (0: every read of a committed item goes to LMDB). */
  cacheBytes: number;
  /** Least milliseconds between flusher batches. */
  flushIntervalMs: number;
  testHooks?: TestHooks;
}

const META_MAX_CAS = 'maxCas';

export class Engine {
  readonly stats = new EngineStats();
  readonly vbuckets: KVBucket;
  /** Replica vBuckets: the active's stream applied, GET_REPLICA, rollback. */
  readonly replicas: ReplicaVBuckets;
  private readonly cas: CasGenerator;
  private readonly storage: ItemStorage;
  private readonly flushBarrier: FlushBarrier;
  /** Live items listed for memcached's dump commands (metadump, cachedump). */
  readonly dump: ItemDump;
  private readonly reads: ItemReads;
  /** Reused by store(), the hot write, which runs to its end before another starts. */
  private readonly storeProbe: DiskProbe = newDiskProbe();
  private readonly storeLive: LiveItem = { cas: 0, valueLength: 0 };
  private readonly storeFields: RecordFields = { state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: 0, seqno: 0, revSeqno: 0 };

  constructor(
    store: Store,
    private readonly options: EngineOptions,
  ) {
    const hooks = options.testHooks ?? NO_TEST_HOOKS;
    this.cas = new CasGenerator(store.getMeta<number>(META_MAX_CAS) ?? 0);
    this.storage = new ItemStorage(store, {
      cacheBytes: options.cacheBytes,
      cacheEntryLimit: hooks.residentEntryLimit,
      pacing: { intervalMs: options.flushIntervalMs, holdMs: hooks.flushHoldMs },
      meta: () => new Map([[META_MAX_CAS, this.cas.current]]),
      maxCas: () => this.cas.current,
      warmupExpiriesPersisted: (total) => hooks.warmupExpiriesPersisted(total),
    });
    this.vbuckets = new KVBucket(store, this.storage, this.stats, options.vbuckets, () => this.cas.current);
    this.flushBarrier = new FlushBarrier(store, this.storage, this.cas, () => this.forgetAllItems());
    const expire = (vb: VBucket, key: KeyRef, rec: Buffer, probe: DiskProbe): void => this.tombstone(vb, key, rec, ItemState.Expired, probe, null, false);
    this.reads = new ItemReads(this.storage, this.flushBarrier, this.stats, () => this.vbuckets.trafficEnabled, expire);
    this.replicas = new ReplicaVBuckets(store, this.storage, this.vbuckets, this.cas, this.stats, this.flushBarrier);
    this.dump = new ItemDump(this.storage, this.flushBarrier);
  }

  /** Touches the memory the requests of `keys` (keys in `buf`) will read, all at once (none: `buf` is framed). */
  prefetch(buf: Uint8Array, keys: RequestKeys): void {
    this.storage.prefetch(buf, keys);
  }

  // ---- reads ----

  /** A client's read; `fetch` false (mg's u) leaves the item's fetched bit and access time. */
  get(key: KeyRef, view: ItemView, fetch = true): Outcome {
    this.stats.cmd_get++;
    const vb = this.vbuckets.readable(key.vbid);
    if (typeof vb === 'number') return vb;
    if (!this.reads.read(vb, key, view, fetch)) {
      this.stats.get_misses++;
      return Outcome.NotFound;
    }
    this.stats.get_hits++;
    return Outcome.Success;
  }

  /** TOUCH and GAT: new expiry, same value, flags and CAS (memcached 1.6); a new seqno. */
  touch(key: KeyRef, exptime: number, view: ItemView, result: MutationResult): Outcome {
    this.stats.cmd_touch++;
    const vb = this.writableVb(key.vbid);
    if (typeof vb === 'number') return vb;
    const probe = newDiskProbe();
    const rec = this.reads.findLive(vb, key, view, probe, true);
    if (rec === null) {
      this.stats.touch_misses++;
      return Outcome.NotFound;
    }
    this.stats.touch_hits++;
    const updated = withExpiry(rec, expiryFromNow(exptime), vb.nextSeqno(), nextRev(vb, probe));
    this.write(vb, key, updated, probe, result);
    fillView(view, updated);
    return Outcome.Success;
  }

  // ---- writes ----

  store(a: StoreArgs, result: MutationResult): Outcome {
    this.stats.cmd_set++;
    const vb = this.writableVb(a.key.vbid);
    if (typeof vb === 'number') return vb;
    const probe = this.storeProbe;
    const live = this.storeLive;
    const old = this.reads.findLiveToReplace(vb, a.key, probe, live);
    if (a.cas !== 0) {
      // Any store with a CAS is a compare-and-swap (memcached NREAD_CAS).
      if (!old) {
        this.stats.cas_misses++;
        return Outcome.NotFound;
      }
      if (live.cas !== a.cas) {
        this.stats.cas_badval++;
        return Outcome.Exists;
      }
      this.stats.cas_hits++;
    } else if (a.mode === StoreMode.Add && old) {
      return Outcome.Exists;
    } else if (a.mode === StoreMode.Replace && !old) {
      return Outcome.NotStored;
    }
    const f = setLiveFields(this.storeFields, a.datatype, a.flags, expiryFromNow(a.exptime), this.cas.next(), vb.nextSeqno(), nextRev(vb, probe));
    this.replaceLive(vb, old ? live.valueLength : -1, a.valueLength);
    const length = RECORD_HEADER_LENGTH + a.valueLength;
    const chunk = this.storage.reserveRecord(length);
    if (chunk < 0) {
      this.write(vb, a.key, encodeRecord(f, a.value, a.valueOffset, a.valueLength), probe, result);
      return Outcome.Success;
    }
    // Straight into the resident table's arena: no Buffer for the record (item-cache.ts).
    const page = this.storage.chunkPage(chunk);
    const at = chunk % PAGE_SIZE;
    encodeRecordAt(page, at, f, a.value, a.valueOffset, a.valueLength, this.storage.chunkData(chunk));
    setResultAt(result, vb, page, at, length, this.storage.writeChunk(vb, a.key, chunk, length, f.seqno, probe.entry));
    return Outcome.Success;
  }

  /** A SET whose value was too large: memcached drops the old item so no stale value stays. */
  dropForOversizedSet(key: KeyRef): void {
    const vb = this.writableVb(key.vbid);
    if (typeof vb === 'number') return;
    const probe = newDiskProbe();
    const old = this.reads.findLive(vb, key, null, probe);
    if (old) this.tombstone(vb, key, old, ItemState.Deleted, probe, null, false);
  }

  concat(a: ConcatArgs, result: MutationResult): Outcome {
    this.stats.cmd_set++;
    const vb = this.writableVb(a.key.vbid);
    if (typeof vb === 'number') return vb;
    const probe = newDiskProbe();
    const old = this.reads.findLive(vb, a.key, null, probe);
    if (!old) return Outcome.NotStored;
    if (a.cas !== 0 && recordCas(old) !== a.cas) return Outcome.Exists;
    const oldLength = recordValueLength(old);
    if (oldLength + a.valueLength > this.options.maxValueLength) return Outcome.TooLarge;
    const fields = { state: ItemState.Live, datatype: recordDatatype(old), flags: recordFlags(old), expiry: recordExpiry(old), cas: this.cas.next(), seqno: vb.nextSeqno(), revSeqno: nextRev(vb, probe) };
    const rec = encodeRecord(fields, null, 0, oldLength + a.valueLength);
    const at = recordValueOffset(rec);
    const from = recordValueOffset(old);
    if (a.append) {
      old.copy(rec, at, from, old.length);
      a.value.copy(rec, at + oldLength, a.valueOffset, a.valueOffset + a.valueLength);
    } else {
      a.value.copy(rec, at, a.valueOffset, a.valueOffset + a.valueLength);
      old.copy(rec, at + a.valueLength, from, old.length);
    }
    this.replaceLive(vb, oldLength, recordValueLength(rec));
    this.write(vb, a.key, rec, probe, result);
    return Outcome.Success;
  }

  arith(a: ArithArgs, result: MutationResult): Outcome {
    const vb = this.writableVb(a.key.vbid);
    if (typeof vb === 'number') return vb;
    const probe = newDiskProbe();
    const old = this.reads.findLive(vb, a.key, null, probe);
    let value: bigint;
    let flags = 0;
    let expiry: number;
    if (!old) {
      if (!a.create) {
        if (a.incr) this.stats.incr_misses++;
        else this.stats.decr_misses++;
        return Outcome.NotFound;
      }
      value = a.initial;
      expiry = expiryFromNow(a.exptime);
    } else {
      const current = parseCounter(old, recordValueOffset(old));
      if (current === null) return Outcome.NonNumeric;
      if (a.cas !== 0 && recordCas(old) !== a.cas) return Outcome.Exists;
      if (a.incr) this.stats.incr_hits++;
      else this.stats.decr_hits++;
      value = applyDelta(current, a.delta, a.incr);
      flags = recordFlags(old);
      expiry = recordExpiry(old);
    }
    const text = Buffer.from(value.toString(), 'latin1');
    const rec = encodeRecord({ state: ItemState.Live, datatype: 0, flags, expiry, cas: this.cas.next(), seqno: vb.nextSeqno(), revSeqno: nextRev(vb, probe) }, text, 0, text.length);
    this.replaceLive(vb, old ? recordValueLength(old) : -1, recordValueLength(rec));
    this.write(vb, a.key, rec, probe, result);
    result.counter = value;
    return Outcome.Success;
  }

  delete(key: KeyRef, cas: number, result: MutationResult): Outcome {
    const vb = this.writableVb(key.vbid);
    if (typeof vb === 'number') return vb;
    const probe = newDiskProbe();
    const old = this.reads.findLive(vb, key, null, probe);
    if (!old) {
      this.stats.delete_misses++;
      return Outcome.NotFound;
    }
    if (cas !== 0 && recordCas(old) !== cas) return Outcome.Exists;
    this.stats.delete_hits++;
    this.tombstone(vb, key, old, ItemState.Deleted, probe, result, false);
    result.cas = 0;
    return Outcome.Success;
  }

  /** FLUSH: every item stored before now (or before `delay` seconds from now) disappears.
   * `result.batch` is the batch that makes it durable. */
  flush(delay: number, result: MutationResult): Outcome {
    if (!this.vbuckets.trafficEnabled) return Outcome.TempFail;
    if (!this.storage.writable) return Outcome.WritesBlocked;
    this.stats.cmd_flush++;
    result.batch = this.flushBarrier.flush(delay);
    return Outcome.Success;
  }

  // ---- warmup and purger support ----

  observeCas(cas: number): void { this.cas.observe(cas); } // prettier-ignore

  /** Metadata read again once warmup has replayed the commit log (CAS floor, flush barrier). */
  reloadMeta(store: Store): void {
    this.cas.observe(store.getMeta<number>(META_MAX_CAS) ?? 0);
    this.flushBarrier.reload(store);
  }

  /** Adds the counts of items that existed before traffic started (warmup's scan). */
  addWarmupCounts(vbid: number, items: number, bytes: number): void {
    const vb = this.vbuckets.get(vbid);
    if (vb) {
      vb.numItems += items;
      vb.numBytes += bytes;
    }
    this.stats.curr_items += items;
    this.stats.bytes += bytes;
  }

  /** Whether a record seen by warmup's snapshot scan is live in the engine's terms. */
  isLiveRecord(record: Buffer): boolean {
    return recordState(record) === ItemState.Live && !this.flushBarrier.hides(record);
  }

  /** Expires an item warmup found expired, unless a client changed it since the snapshot.
   * Returns true when an expiration (a new seqno) was issued. */
  expireFromWarmup(itemKey: Buffer, snapshotSeqno: number): boolean {
    const vb = this.vbuckets.get(itemKeyVbid(itemKey));
    if (vb === undefined || vb.state !== VBucketState.Active) return false;
    const probe = newDiskProbe();
    const rec = this.storage.current(itemKey, probe);
    if (rec === undefined || recordSeqno(rec) !== snapshotSeqno || recordState(rec) !== ItemState.Live) return false;
    this.tombstone(vb, keyRefOf(itemKey), rec, ItemState.Expired, probe, null, true);
    return true;
  }

  /** Whether the purger may remove this record: a tombstone older than `maxAge` s, or hidden by FLUSH. */
  isPurgeable(record: Buffer, now: number, maxAge: number): boolean {
    if (recordState(record) === ItemState.Live) return this.flushBarrier.hides(record);
    return recordExpiry(record) + maxAge <= now;
  }

  /** Removes a record the purger chose, unless it changed since the purger's snapshot. A
   * purged tombstone raises its vBucket's purge seqno: a consumer that has not seen it must
   * then roll back to 0. Returns true when a removal was queued. */
  purge(itemKey: Buffer, snapshotSeqno: number): boolean {
    const vb = this.vbuckets.get(itemKeyVbid(itemKey));
    if (vb === undefined || !this.storage.writable) return false;
    const rec = this.storage.current(itemKey, newDiskProbe());
    if (rec === undefined || recordSeqno(rec) !== snapshotSeqno) return false;
    if (recordState(rec) !== ItemState.Live) {
      if (snapshotSeqno > vb.purgeSeqno) vb.purgeSeqno = snapshotSeqno;
      // A key recreated after its tombstone is gone continues above its old revision.
      vb.maxDeletedRevSeqno = Math.max(vb.maxDeletedRevSeqno, recordRevSeqno(rec));
    }
    this.storage.remove(vb, itemKey, snapshotSeqno);
    this.stats.purged++;
    return true;
  }

  // ---- what the server and DCP read ----

  /** FLUSH as change streams see it: the barrier, which records it hides, each new one. */
  get flushes(): FlushEvents {
    return this.flushBarrier;
  }

  /** Applied items by seqno, from LMDB's latest commit or one point in time (DCP backfill). */
  get backfill(): BackfillSource { return this.storage; } // prettier-ignore
  /** Commits as they happen (--ack=persist replies wait for theirs). */
  get commits(): CommitWatch { return this.storage.commits; } // prettier-ignore
  /** Whether writes are taken now (not while commits fail or the resident table is full). */
  get writable(): boolean { return this.storage.writable; } // prettier-ignore

  /** The resident table's quota (-m; memcached's cache_memlimit at run time). */
  setCacheQuota = (bytes: number): void => this.storage.setCacheQuota(bytes);

  storageStats = (): StorageStats => this.storage.stats();
  /** Resolves when everything written so far is committed and in LMDB. */
  settle = (): Promise<void> => this.storage.settle();
  /** mg's h and l: a resident item's fetched bit and last access, packed (ItemCache.access). */
  accessOf = (key: KeyRef): number => this.storage.accessOf(key);

  close(): void {
    this.flushBarrier.close();
  }

  // ---- internals ----

  /** The guard of every writing operation: the active vBucket, or the outcome to answer. */
  private writableVb(vbid: number): VBucket | Outcome {
    const vb = this.vbuckets.active(vbid);
    if (typeof vb === 'number' || this.storage.writable) return vb;
    return Outcome.WritesBlocked;
  }

  /** Replaces a live item whose value had `oldLength` bytes (-1: none) by a new live record,
   * keeping the counters right. */
  private replaceLive(vb: VBucket, oldLength: number, newLength: number): void {
    const delta = newLength - Math.max(oldLength, 0);
    if (oldLength < 0) {
      this.stats.curr_items++;
      vb.numItems++;
    }
    this.stats.bytes += delta;
    vb.numBytes += delta;
    this.stats.total_items++;
  }

  private tombstone(vb: VBucket, key: KeyRef, old: Buffer, state: ItemState, probe: DiskProbe, result: MutationResult | null, warmupExpiry: boolean): void {
    this.stats.curr_items--;
    vb.numItems--;
    this.stats.bytes -= recordValueLength(old);
    vb.numBytes -= recordValueLength(old);
    if (state === ItemState.Expired) this.stats.reclaimed++;
    // A tombstone's expiry field holds its deletion time, which the purger ages it by.
    const rec = encodeRecord({ state, datatype: 0, flags: 0, expiry: nowSeconds(), cas: this.cas.next(), seqno: vb.nextSeqno(), revSeqno: recordRevSeqno(old) + 1 }, null, 0, 0);
    probe.rev = recordRevSeqno(rec);
    const batch = this.storage.write(vb, key, rec, recordSeqno(rec), warmupExpiry);
    if (result) setResult(result, vb, rec, batch);
  }

  private write(vb: VBucket, key: KeyRef, rec: Buffer, probe: DiskProbe, result: MutationResult): void {
    setResult(result, vb, rec, this.storage.write(vb, key, rec, recordSeqno(rec), false, probe.entry));
  }

  /** A flush took effect: nothing resident is visible and every item count is 0. */
  private forgetAllItems(): void {
    this.storage.dropAll();
    this.stats.curr_items = 0;
    this.stats.bytes = 0;
    for (const vb of this.vbuckets.all()) {
      vb.numItems = 0;
      vb.numBytes = 0;
    }
  }
}

/** kv_engine's rule: a mutation's revision is one more than the key's last (live or deleted),
 * and never at or below one a purged tombstone of the vBucket had. */
function nextRev(vb: VBucket, probe: DiskProbe): number {
  return Math.max(probe.rev, vb.maxDeletedRevSeqno) + 1;
}
