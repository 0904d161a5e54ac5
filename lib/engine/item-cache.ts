/**
 * The resident item table: the newest record of every key with a write not yet committed
 * (dirty, pinned, never ejected), plus committed live records up to a byte quota (`-m`), in
 * front of LMDB, as kv_engine's hash table keeps dirty and resident items in front of its disk.
 * A read answered here costs one hash probe (bucket-table.ts) instead of a B-tree descent
 * through the map. Records are by entry number (entry-records.ts: committed ones in an arena).
 *
 * Ejection is CLOCK: a hand sweeps the entries; one read since it last passed is spared once.
 * Every write lands here at once (tombstones too), its apply to LMDB turns the entry clean or
 * drops it, LMDB reads fill it, DEL_VBUCKET and FLUSH empty it.
 */
import * as entryState from './entry-state.js';
import { accessedAt, accessNow } from './entry-state.js';
import { BucketTable } from './bucket-table.js';
import { INLINE_KEY_MAX } from './bucket-layout.js';
import { EntryRecords, type RecordLocation } from './entry-records.js';
import * as entryArrays from './entry-arrays.js';
import { EntryWords, MAX_ENTRIES, nextCapacity } from './entry-arrays.js';
import { LongKeys } from './long-keys.js';
import { KeyPrefetch } from './key-prefetch.js';

export { hashString } from './key-hash.js';

// Module constants, not imported bindings (why: bucket-table.ts).
const { BUCKET_STATE, FETCHED, PINNED, REFERENCED, WORD_FLAGS, WRITE_CHUNK } = entryState, { ENTRY_WORDS, W_ACCESSED, W_STAMP } = entryArrays;

/** Rough per-entry cost beyond key and record bytes: the entry's per-entry arrays, its share
 * of the buckets (32 bytes each, between 2 and 4 per entry), and the record's chunk rounding. */
export const ENTRY_OVERHEAD = 120;
/** What a key too long for its bucket costs beyond its bytes: its key-arena chunk's rounding
 * (long-keys.ts: up to 7 bytes below 160, 12 for memcached's longest key). */
export const LONG_KEY_OVERHEAD = 8;
/** Entries the hand may pass per insert while over quota (a table full of pinned or recently
 * read entries must not make one insert walk all): later inserts or commits let it eject. */
const MAX_HAND_STEPS = 256;

/** The most a key adds to `cost` (binary keys have a 16-bit length): a record whose cost
 * with it is within the quota is, whatever its key, and its bucket need not be read. */
const MOST_KEY_COST = 0xffff + LONG_KEY_OVERHEAD;

const INITIAL_ENTRIES = 1024;
/** Entries kept short of MAX_ENTRIES: what one request adds after `hasRoom` (one entry; warmup
 * expiries a few hundred) never reaches the limit. */
const ENTRY_MARGIN = 4096;

export class ItemCache {
  /** Bytes held, by the estimate above. */
  bytes = 0;
  ejections = 0;
  hits = 0;
  misses = 0;
  private count = 0;

  private readonly longKeys: LongKeys;
  private readonly table: BucketTable;
  /** Touches what a chunk's requests will read (key-prefetch.ts). */
  readonly prefetcher: KeyPrefetch;
  /** Every per-entry word side by side (entry-arrays.ts). Ours: W_ACCESSED, the last read or
   * write (mg's l flag) under the PINNED and WRITE_CHUNK bits (entry-state.ts); W_STAMP, the
   * stamp of the write it holds (0: clean), which tells a write from a newer one of its key and
   * from a key that took its entry after a FLUSH, without keeping the write's Buffer. */
  private readonly words = new EntryWords(INITIAL_ENTRIES);
  private readonly ew = this.words.w;
  private readonly records = new EntryRecords(INITIAL_ENTRIES, undefined, this.words);
  /** The last stamp handed out; it wraps after 2^32 writes, far more than are ever in flight. */
  private lastStamp = 0;
  /** Bumped whenever entries leave the table other than by their own write's apply (FLUSH,
   * DEL_VBUCKET, delete): an entry number noted before then may name another key since. */
  generation = 0;
  private free: number[] = [];
  /** Entry numbers ever handed out (the hand sweeps 0..high-1). */
  private high = 0;
  private hand = 0;
  private capacity = INITIAL_ENTRIES;
  private readonly entryLimit: number;

  /** `limits` only in tests: fewer entries, or a smaller key arena, than the table can hold. */
  constructor(
    public quotaBytes: number,
    limits: { entries?: number; longKeyBytes?: number } = {},
  ) {
    this.entryLimit = Math.min(limits.entries ?? MAX_ENTRIES - ENTRY_MARGIN, MAX_ENTRIES - ENTRY_MARGIN);
    this.longKeys = new LongKeys(limits.longKeyBytes);
    this.table = new BucketTable(INITIAL_ENTRIES, this.longKeys, this.words);
    this.prefetcher = new KeyPrefetch(this.table, this.records);
  }

  /** Whether a new key certainly fits (at most MAX_ENTRIES: at the limit an insert ejects a
   * clean entry; with every entry pinned or the key arena full, writes are refused as memcached's
   * out of memory and LMDB reads are not kept, instead of the process dying). */
  get hasRoom(): boolean {
    return this.count < this.entryLimit && this.longKeys.hasRoom;
  }

  /** A new quota (cache_memlimit): clean entries over it go at once, pinned ones at their commit. */
  setQuota(bytes: number): void {
    this.quotaBytes = bytes;
    if (bytes > 0 && this.bytes > bytes) this.eject(-1);
  }

  get items(): number {
    return this.count;
  }

  /** The record for a key given as bytes (`buf[offset, offset+length)`), counted as a hit or
   * miss; a hit is spared by the next ejection sweep, and a `fetch` (a client's read, not a
   * write's lookup) marks the entry fetched and accessed now. */
  get(buf: Uint8Array, offset: number, length: number, fetch = false): Buffer | undefined {
    const e = this.counted(this.table.find(buf, offset, length), fetch);
    return e < 0 ? undefined : this.records.of(e);
  }

  /** `get` for the item key of vBucket `vbid` and the client key `buf[offset, +length)` (not
   * built), the record described in `loc`, no Buffer made (a GET's reply copies the value from
   * where it lies). Returns the entry, or -1 when not resident. */
  locate(vbid: number, buf: Uint8Array, offset: number, length: number, fetch: boolean, loc: RecordLocation): number {
    const e = this.counted(this.table.findItem(vbid, buf, offset, length, this.prefetcher.hashOf(vbid, buf, offset, length)), fetch);
    if (e >= 0) this.records.locate(e, loc);
    return e;
  }

  /** Entry `e` (-1: none) as a lookup found it, counted as a hit (marked as `get` says) or a miss. */
  private counted(e: number, fetch: boolean): number {
    if (e < 0) {
      this.misses++;
      return -1;
    }
    this.hits++;
    // The bucket just found, before moveSome may move it.
    const st = this.table.foundState();
    if (fetch) {
      this.table.setFoundState(st | REFERENCED | FETCHED);
      const a = e * ENTRY_WORDS + W_ACCESSED;
      this.ew[a] = (this.ew[a] & WORD_FLAGS) | accessNow();
    } else if ((st & REFERENCED) === 0) {
      this.table.setFoundState(st | REFERENCED);
    }
    this.table.moveSome();
    return e;
  }

  /** Bytes of arena pages: the memory records take (those kept as Buffers aside). */
  get arenaBytes(): number {
    return this.records.arenaBytes;
  }

  /** Every resident key (a latin1 item key) with its record, in table order. */
  *residents(): Generator<[string, Buffer]> {
    for (let e = 0; e < this.high; e++) if (this.table.has(e)) yield [this.table.keyOf(e), this.records.of(e)];
  }

  /** The record for a stored key, without counting (the engine's own bookkeeping). */
  peek(key: string): Buffer | undefined {
    const e = this.table.findKey(key);
    return e < 0 ? undefined : this.records.of(e);
  }

  /** Makes `record` (never modified afterwards) the newest record of the item key
   * `buf[offset, offset+length)` (no key string made): a write, pinned until settled. Returns
   * the entry; `stampOf` tells the write from later ones. `hint`: the entry a lookup of the key
   * just found (-1: none), used if it still holds the key: no second hashing. */
  putDirtyKey(buf: Uint8Array, offset: number, length: number, record: Buffer, hint = -1): number {
    return this.putDirty(buf, offset, length, record, -1, record.length, hint);
  }

  /** A chunk for a record of `length` bytes that the caller writes (`chunkPage`) and then
   * stores with `putDirtyChunk`; -1 when the arena does not keep it (too large, or full). */
  reserveRecord(length: number): number {
    return this.records.reserve(length);
  }

  /** The arena page of a reserved chunk (the record starts at `chunk % PAGE_SIZE`). */
  chunkPage(chunk: number): Buffer {
    return this.records.page(chunk);
  }

  /** The DataView of that page: a copy into it makes no view (bytes.ts). */
  chunkData(chunk: number): DataView {
    return this.records.pageData(chunk);
  }

  /** `putDirtyKey` for a record written into the reserved `chunk`: owned by its write until
   * `committed` (or `detachChunk`), whatever the entry does meanwhile. */
  putDirtyChunk(buf: Uint8Array, offset: number, length: number, chunk: number, recordLength: number, hint = -1): number {
    return this.putDirty(buf, offset, length, null, chunk, recordLength, hint);
  }

  private putDirty(buf: Uint8Array, offset: number, length: number, record: Buffer | null, chunk: number, recordLength: number, hint: number): number {
    const state = chunk >= 0 ? PINNED | WRITE_CHUNK : PINNED;
    const e = hint >= 0 && hint < this.high && this.table.holdsBytes(hint, buf, offset, length) ? this.replace(hint, length, record, chunk, recordLength, state) : this.insertBytes(buf, offset, length, record, chunk, recordLength, state);
    this.lastStamp = (this.lastStamp + 1) >>> 0 || 1;
    this.ew[e * ENTRY_WORDS + W_STAMP] = this.lastStamp;
    return e;
  }

  /** Copies entry e's key (an item key) into `dst` at `at`; returns its length. */
  copyKey(e: number, dst: Uint8Array, at: number): number {
    return this.table.copyKey(e, dst, at);
  }

  /** The length of entry e's key. */
  keyLengthAt(e: number): number {
    return this.table.keyLength(e);
  }

  /** The stamp of the write entry `e` holds (0: none). */
  stampOf(e: number): number {
    return this.ew[e * ENTRY_WORDS + W_STAMP] >>> 0;
  }

  /** Whether entry `e` still holds the write stamped `stamp`. */
  holdsWrite(e: number, stamp: number): boolean {
    return e >= 0 && e < this.high && this.ew[e * ENTRY_WORDS + W_STAMP] >>> 0 === stamp && this.table.has(e);
  }

  /** The key (a latin1 item key) of entry `e`, in use. */
  keyAt(e: number): string {
    return this.table.keyOf(e);
  }

  /** The record of entry `e` (any key), for a caller that knows what the entry holds; a view
   * valid until the table changes. */
  recordAt(e: number): Buffer {
    return this.records.of(e);
  }

  /** The write stamped `stamp` is committed (in the commit log, not yet in LMDB): if entry `e`
   * still holds it, its record moves into the arena (its Buffer is let go) or its chunk becomes
   * the entry's; it stays pinned. Else the write's own chunk (`chunk` >= 0), which no entry
   * holds any more, is given back. */
  committed(e: number, stamp: number, chunk = -1, recordLength = 0): void {
    if (this.holdsWrite(e, stamp)) {
      if (chunk >= 0) this.ew[e * ENTRY_WORDS + W_ACCESSED] &= ~WRITE_CHUNK;
      else this.records.commit(e);
    } else if (chunk >= 0) {
      this.records.release(chunk, recordLength);
    }
  }

  /** The write stamped `stamp` copied its record and lets go of its `chunk` (FLUSH, DEL_VBUCKET). */
  detachChunk(e: number, stamp: number, chunk: number, recordLength: number): void {
    this.committed(e, stamp, chunk, recordLength);
  }

  /** The write stamped `stamp` is in LMDB. If entry `e` still holds it, the entry is clean now,
   * kept as the quota allows (`keep`: a live item) or dropped (a tombstone); an entry holding a
   * newer write stays pinned. */
  settle(e: number, stamp: number, keep: boolean): void {
    if (!this.holdsWrite(e, stamp)) return;
    this.ew[e * ENTRY_WORDS + W_STAMP] = 0;
    const recordLength = this.records.length(e);
    if (!keep || (recordLength + ENTRY_OVERHEAD + MOST_KEY_COST > this.quotaBytes && cost(this.table.keyLength(e), recordLength) > this.quotaBytes)) {
      this.remove(e);
      return;
    }
    this.ew[e * ENTRY_WORDS + W_ACCESSED] &= ~PINNED;
    this.records.commit(e);
    // Pinned writes may have left the table over quota: eject now, not on a later insert.
    this.afterInsert(e);
  }

  /** Keeps a committed record read from LMDB, if the quota has room for it at all. */
  putClean(key: string, record: Buffer, fetched = false): void {
    if (cost(key.length, record.length) > this.quotaBytes || !this.hasRoom) return;
    this.insert(key, record, fetched ? FETCHED : 0);
  }

  /** Whether a resident key was fetched since stored, and when it was last accessed, packed as
   * accessedAt * 2 + fetched; -1 when it is not resident. Nothing is marked. */
  access(buf: Uint8Array, offset: number, length: number): number {
    const e = this.table.find(buf, offset, length);
    if (e < 0) return -1;
    return accessedAt(this.ew[e * ENTRY_WORDS + W_ACCESSED]) * 2 + ((this.table.state(e) & FETCHED) !== 0 ? 1 : 0);
  }

  /** A purge of the record with `seqno` is committed: the entry goes unless it holds a newer write. */
  purged(key: string, seqno: number, recordSeqno: (record: Buffer) => number): void {
    const e = this.table.findKey(key);
    if (e < 0) return;
    if (recordSeqno(this.records.of(e)) <= seqno) this.remove(e);
  }

  delete(key: string): void {
    const e = this.table.findKey(key);
    if (e >= 0) this.remove(e);
    this.generation++;
  }

  /** Forgets every key that starts with `prefix` (one vBucket's keys). */
  dropPrefix(prefix: string): void {
    this.generation++;
    for (let e = 0; e < this.high; e++) if (this.table.has(e) && this.table.keyStartsWith(e, prefix)) this.remove(e);
  }

  clear(): void {
    this.generation++;
    this.table.clear();
    this.records.clear();
    this.free = [];
    this.high = 0;
    this.hand = 0;
    this.count = 0;
    this.bytes = 0;
  }

  // ---- internals ----

  private insert(key: string, record: Buffer, state: number): number {
    const found = this.table.lookup(key);
    if (found >= 0) return this.replace(found, key.length, record, -1, record.length, state);
    const e = this.allocEntry();
    this.table.add(found, e, key, state & BUCKET_STATE);
    return this.added(e, key.length, record, -1, record.length, state);
  }

  /** `record`, or (null) the `recordLength` bytes of the reserved `chunk`, for a key's bytes. */
  private insertBytes(buf: Uint8Array, offset: number, length: number, record: Buffer | null, chunk: number, recordLength: number, state: number): number {
    const found = this.table.lookupBytes(buf, offset, length);
    if (found >= 0) return this.replace(found, length, record, chunk, recordLength, state);
    const e = this.allocEntry();
    this.table.addBytes(found, e, buf, offset, length, state & BUCKET_STATE);
    return this.added(e, length, record, chunk, recordLength, state);
  }

  /** The rest of an insert, entry e placed in the table. */
  private added(e: number, keyLength: number, record: Buffer | null, chunk: number, recordLength: number, state: number): number {
    this.setRecord(e, record, chunk, recordLength, state);
    this.ew[e * ENTRY_WORDS + W_STAMP] = 0;
    this.ew[e * ENTRY_WORDS + W_ACCESSED] = (state & WORD_FLAGS) | accessNow();
    this.count++;
    this.bytes += cost(keyLength, recordLength);
    this.afterInsert(e);
    return e;
  }

  private setRecord(e: number, record: Buffer | null, chunk: number, recordLength: number, state: number): void {
    if (record === null) this.records.setChunk(e, chunk, recordLength);
    else this.records.set(e, record, (state & PINNED) !== 0);
  }

  /** A new record for entry `e`'s key in place (same bucket and entry); an owned chunk stays its write's. */
  private replace(e: number, keyLength: number, record: Buffer | null, chunk: number, recordLength: number, state: number): number {
    this.bytes += cost(keyLength, recordLength) - cost(keyLength, this.records.length(e));
    if ((this.ew[e * ENTRY_WORDS + W_ACCESSED] & WRITE_CHUNK) !== 0) this.records.forget(e);
    this.setRecord(e, record, chunk, recordLength, state);
    this.table.setState(e, state & BUCKET_STATE);
    this.table.moveSome();
    this.ew[e * ENTRY_WORDS + W_STAMP] = 0;
    this.ew[e * ENTRY_WORDS + W_ACCESSED] = (state & WORD_FLAGS) | accessNow();
    this.afterInsert(e);
    return e;
  }

  private afterInsert(e: number): void {
    if ((this.bytes > this.quotaBytes && this.quotaBytes > 0) || this.count >= this.entryLimit) this.eject(e);
  }

  private allocEntry(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const e = this.high++;
    if (e >= this.capacity) {
      this.capacity = nextCapacity(this.capacity);
      this.words.grow(this.capacity);
    }
    return e;
  }

  private remove(e: number): void {
    this.bytes -= cost(this.table.keyLength(e), this.records.length(e));
    if ((this.ew[e * ENTRY_WORDS + W_ACCESSED] & WRITE_CHUNK) !== 0) this.records.forget(e);
    else this.records.drop(e);
    this.ew[e * ENTRY_WORDS + W_STAMP] = 0;
    this.table.remove(e);
    this.free.push(e);
    this.count--;
  }

  /** CLOCK: ejects clean entries not read since the hand last passed until under quota and
   * the entry limit, never `keep` (the entry just inserted), at most MAX_HAND_STEPS passed. */
  private eject(keep: number): void {
    for (let steps = 0; steps < MAX_HAND_STEPS && (this.bytes > this.quotaBytes || this.count >= this.entryLimit); steps++) {
      const e = this.hand;
      this.hand = e + 1 >= this.high ? 0 : e + 1;
      if (e === keep || !this.table.has(e)) continue;
      if ((this.ew[e * ENTRY_WORDS + W_ACCESSED] & PINNED) !== 0) continue;
      const st = this.table.state(e);
      if ((st & REFERENCED) !== 0) {
        this.table.setState(e, st & ~REFERENCED);
        continue;
      }
      this.remove(e);
      this.ejections++;
    }
  }
}

function cost(keyLength: number, recordLength: number): number {
  return keyLength + recordLength + ENTRY_OVERHEAD + (keyLength > INLINE_KEY_MAX ? LONG_KEY_OVERHEAD : 0);
}
