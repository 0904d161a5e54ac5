/**
 * The resident item table: the newest record of every key with a write not yet committed
 * (dirty, pinned, never ejected), plus committed live records up to a byte quota (`-m`), in
 * front of LMDB, as kv_engine's hash table keeps dirty and resident items in front of its disk.
 * A read answered here costs one hash probe instead of a B-tree descent through the map.
 *
 * Not a `Map`, which needs the key as a string built per GET: a lookup hashes the key bytes
 * where they lie in the request. Open addressing, linear probing, one typed array of 32-byte
 * buckets (two to a cache line: 64 bytes each cost 64 more bytes per item) holding entry
 * number, hash, state, key length and, for keys up to 20 bytes (the vBucket's 2 and a client
 * key of up to 18), the key itself, compared in the line already loaded; longer keys are
 * compared with the stored string. Deletion shifts later entries back (no tombstones).
 * Records are by entry number (entry-records.ts: committed ones in an arena). Keys are item
 * keys (key-codec.ts) as latin1 strings, the form every write builds anyway.
 *
 * Ejection is CLOCK: a hand sweeps the entries; one read since it last passed is spared once.
 * Each entry also remembers the seqno LMDB holds for its key (0: none, -1: not known), so the
 * flusher drops a key's old seqno-index entry without reading LMDB. Every write lands here at
 * once (tombstones too), a commit turns an entry clean or drops it, LMDB reads fill it,
 * DEL_VBUCKET and FLUSH empty it.
 */
import { coarseSeconds } from './coarse-clock.js';
import { hashBytes, hashString, keyEquals } from './key-hash.js';
import { EntryRecords } from './entry-records.js';

export { hashString } from './key-hash.js';

/** Rough per-entry cost beyond key and record bytes: the key string's header, the entry's
 * slots and per-entry arrays, its share of the buckets (32 bytes each, between 2 and 4 per
 * entry), and the record's chunk rounding. */
export const ENTRY_OVERHEAD = 160;
/** Entries the hand may pass per insert while over quota: a table full of pinned or recently
 * read entries must not make one insert walk all of them. It stays over quota until later
 * inserts (or commits) let the hand eject. */
const MAX_HAND_STEPS = 256;

// Bucket layout: 8 int32 (32 bytes, half a cache line) per bucket.
const B_ENTRY = 0; // entry number + 1; 0 = empty bucket
const B_HASH = 1;
const B_STATE = 2; // low byte: PINNED | REFERENCED | FETCHED; next byte: the key's length
const KEYLEN_SHIFT = 8;
const STRIDE = 8;
/** Byte offset of the inline key within a bucket, and the longest stored key kept inline. */
const KEY_AT = 12;
const INLINE_KEY_MAX = STRIDE * 4 - KEY_AT;
const PINNED = 1;
const REFERENCED = 2;
/** Read since this version of the item was stored (memcached's ITEM_FETCHED: mg's h flag). */
const FETCHED = 4;

const INITIAL_ENTRIES = 1024;

export class ItemCache {
  /** Bytes held, by the estimate above. */
  bytes = 0;
  ejections = 0;
  hits = 0;
  misses = 0;
  private count = 0;

  /** Entry e's key (a latin1 string), undefined when the entry is free, and its record. */
  private keys: Array<string | undefined> = [];
  private readonly records = new EntryRecords(INITIAL_ENTRIES);
  /** Bucket each entry sits in (kept exact through shifts, for removal by entry). */
  private bucketOf = new Int32Array(INITIAL_ENTRIES);
  /** Seqno of the key's record in LMDB as of the last commit (0 none, -1 unknown). */
  private diskSeqno = new Float64Array(INITIAL_ENTRIES);
  /** When the entry was last read or written (Unix seconds; mg's l flag). */
  private accessedAt = new Uint32Array(INITIAL_ENTRIES);
  private free: number[] = [];
  /** Entry numbers ever handed out (the hand sweeps 0..high-1). */
  private high = 0;
  private hand = 0;

  private buckets = new Int32Array(INITIAL_ENTRIES * 2 * STRIDE);
  /** The same memory as bytes, for the inline keys. */
  private bucketBytes = new Uint8Array(this.buckets.buffer);
  /** Number of buckets - 1 (a power of two). */
  private mask = INITIAL_ENTRIES * 2 - 1;

  constructor(public quotaBytes: number) {}

  /** A new quota (memcached's cache_memlimit): clean entries over it are ejected at once;
   * pinned ones (uncommitted writes) stay until their commit. */
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
    const h = hashBytes(buf, offset, length);
    const bk = this.buckets;
    const mask = this.mask;
    for (let b = h & mask; ; b = (b + 1) & mask) {
      const at = b * STRIDE;
      const s = bk[at + B_ENTRY];
      if (s === 0) break;
      if (bk[at + B_HASH] === h && this.matches(at, s - 1, buf, offset, length)) {
        this.hits++;
        if (fetch) {
          bk[at + B_STATE] |= REFERENCED | FETCHED;
          this.accessedAt[s - 1] = coarseSeconds();
        } else {
          bk[at + B_STATE] |= REFERENCED;
        }
        return this.records.of(s - 1);
      }
    }
    this.misses++;
    return undefined;
  }

  /** Bytes of arena pages: the memory clean records take. */
  get arenaBytes(): number {
    return this.records.arenaBytes;
  }

  /** Every resident key (a latin1 item key) with its record, in table order. */
  *residents(): Generator<[string, Buffer]> {
    for (let e = 0; e < this.high; e++) {
      const key = this.keys[e];
      if (key !== undefined) yield [key as string, this.records.of(e)];
    }
  }

  /** The record for a stored key, without counting (the engine's own bookkeeping). */
  peek(key: string): Buffer | undefined {
    const b = this.bucketFor(key);
    return b < 0 ? undefined : this.records.of(this.buckets[b * STRIDE + B_ENTRY] - 1);
  }

  /** Makes `record` (never modified afterwards) the key's newest record: a write, pinned until
   * `settle` is called with the same record. `diskSeqno` is what LMDB holds for the key (-1 if
   * not known), used only if the key has no entry yet. */
  putDirty(key: string, record: Buffer, diskSeqno: number): number {
    return this.insert(key, record, PINNED, diskSeqno);
  }

  /** Keeps a committed record read from LMDB (whose seqno is `seqno`), if the quota has room
   * for it at all. */
  putClean(key: string, record: Buffer, seqno: number, fetched = false): void {
    if (cost(key, record) > this.quotaBytes) return;
    this.insert(key, record, fetched ? FETCHED : 0, seqno);
  }

  /** Whether a resident key was fetched since stored, and when it was last accessed, packed as
   * accessedAt * 2 + fetched; -1 when it is not resident. Nothing is marked. */
  access(buf: Uint8Array, offset: number, length: number): number {
    const h = hashBytes(buf, offset, length);
    const bk = this.buckets;
    for (let b = h & this.mask; ; b = (b + 1) & this.mask) {
      const at = b * STRIDE;
      const s = bk[at + B_ENTRY];
      if (s === 0) return -1;
      if (bk[at + B_HASH] === h && this.matches(at, s - 1, buf, offset, length)) return this.accessedAt[s - 1] * 2 + ((bk[at + B_STATE] & FETCHED) !== 0 ? 1 : 0);
    }
  }

  /** A write of `record` with `seqno` committed. LMDB now holds that seqno for the key; if the
   * entry still holds `record` it is clean now, kept as the quota allows (`keep`, a live item)
   * or dropped (a tombstone). A newer write keeps the entry pinned. */
  settle(key: string, record: Buffer, seqno: number, keep: boolean): void {
    const b = this.bucketFor(key);
    if (b >= 0) this.settleEntry(this.buckets[b * STRIDE + B_ENTRY] - 1, b, key, record, seqno, keep);
  }

  /** `settle` for the key of entry `e` as putDirty returned it (found without hashing, unless
   * the entry changed hands since, which a FLUSH or DEL_VBUCKET can do). */
  settleAt(e: number, key: string, record: Buffer, seqno: number, keep: boolean): void {
    if (this.keys[e] === key) this.settleEntry(e, this.bucketOf[e], key, record, seqno, keep);
    else this.settle(key, record, seqno, keep);
  }

  private settleEntry(e: number, b: number, key: string, record: Buffer, seqno: number, keep: boolean): void {
    this.diskSeqno[e] = seqno;
    if (!this.records.holds(e, record)) return;
    if (!keep || cost(key, record) > this.quotaBytes) {
      this.remove(e);
      return;
    }
    this.buckets[b * STRIDE + B_STATE] &= ~PINNED;
    this.records.keepClean(e, record);
    // A burst of writes can leave the table over quota while they were pinned; eject now that
    // they may go, not only on a later insert (reads of resident items insert nothing).
    this.afterInsert(e);
  }

  /** A purge of the record with `seqno` committed (the key is gone from LMDB): the entry goes
   * unless it holds a newer write. */
  purged(key: string, seqno: number, recordSeqno: (record: Buffer) => number): void {
    const b = this.bucketFor(key);
    if (b < 0) return;
    const e = this.buckets[b * STRIDE + B_ENTRY] - 1;
    if (recordSeqno(this.records.of(e)) <= seqno) this.remove(e);
    else this.diskSeqno[e] = 0;
  }

  /** The seqno LMDB holds for the key (0 none), or -1 if the table does not know. */
  diskSeqnoOf(key: string): number {
    const b = this.bucketFor(key);
    return b < 0 ? -1 : this.diskSeqno[this.buckets[b * STRIDE + B_ENTRY] - 1];
  }

  /** `diskSeqnoOf` for the key of entry `e` (see settleAt). */
  diskSeqnoAt(e: number, key: string): number {
    return e >= 0 && this.keys[e] === key ? this.diskSeqno[e] : this.diskSeqnoOf(key);
  }

  delete(key: string): void {
    const b = this.bucketFor(key);
    if (b >= 0) this.remove(this.buckets[b * STRIDE + B_ENTRY] - 1);
  }

  /** Forgets every key that starts with `prefix` (one vBucket's keys). */
  dropPrefix(prefix: string): void {
    for (let e = 0; e < this.high; e++) {
      const k = this.keys[e];
      if (k !== undefined && k.startsWith(prefix)) this.remove(e);
    }
  }

  clear(): void {
    this.keys = [];
    this.records.clear();
    this.buckets.fill(0);
    this.free = [];
    this.high = 0;
    this.hand = 0;
    this.count = 0;
    this.bytes = 0;
  }

  // ---- internals ----

  /** Whether the bucket at int offset `at` (entry `e`) holds the key `buf[offset, +length)`. */
  private matches(at: number, e: number, buf: Uint8Array, offset: number, length: number): boolean {
    if (this.buckets[at + B_STATE] >>> KEYLEN_SHIFT !== length) return false;
    if (length > INLINE_KEY_MAX) return keyEquals(this.keys[e] as string, buf, offset, length);
    const kb = this.bucketBytes;
    const base = at * 4 + KEY_AT;
    for (let i = 0; i < length; i++) if (kb[base + i] !== buf[offset + i]) return false;
    return true;
  }

  /** The bucket holding `key`, or -1. */
  private bucketFor(key: string): number {
    const h = hashString(key);
    const bk = this.buckets;
    const mask = this.mask;
    for (let b = h & mask; ; b = (b + 1) & mask) {
      const s = bk[b * STRIDE + B_ENTRY];
      if (s === 0) return -1;
      if (bk[b * STRIDE + B_HASH] === h && this.keys[s - 1] === key) return b;
    }
  }

  private insert(key: string, record: Buffer, state: number, diskSeqno: number): number {
    const h = hashString(key);
    const bk = this.buckets;
    const mask = this.mask;
    let b = h & mask;
    for (; ; b = (b + 1) & mask) {
      const s = bk[b * STRIDE + B_ENTRY];
      if (s === 0) break;
      if (bk[b * STRIDE + B_HASH] === h && this.keys[s - 1] === key) {
        // Replace in place: same bucket, same entry number.
        const e = s - 1;
        this.bytes += cost(key, record) - entryCost(key, this.records.length(e));
        this.records.set(e, record, (state & PINNED) !== 0);
        bk[b * STRIDE + B_STATE] = state | (key.length << KEYLEN_SHIFT);
        this.accessedAt[e] = coarseSeconds();
        // A clean record comes from LMDB, so it tells; a write does not change the disk.
        if ((state & PINNED) === 0) this.diskSeqno[e] = diskSeqno;
        this.afterInsert(e);
        return e;
      }
    }
    const e = this.allocEntry();
    this.keys[e] = key;
    this.records.set(e, record, (state & PINNED) !== 0);
    bk[b * STRIDE + B_ENTRY] = e + 1;
    bk[b * STRIDE + B_HASH] = h;
    bk[b * STRIDE + B_STATE] = state | (key.length << KEYLEN_SHIFT);
    this.accessedAt[e] = coarseSeconds();
    if (key.length <= INLINE_KEY_MAX) {
      const kb = this.bucketBytes;
      const base = b * STRIDE * 4 + KEY_AT;
      for (let i = 0; i < key.length; i++) kb[base + i] = key.charCodeAt(i);
    }
    this.bucketOf[e] = b;
    this.diskSeqno[e] = diskSeqno;
    this.count++;
    this.bytes += cost(key, record);
    if (this.count * 2 > this.mask + 1) this.grow();
    this.afterInsert(e);
    return e;
  }

  private afterInsert(e: number): void {
    if (this.bytes > this.quotaBytes && this.quotaBytes > 0) this.eject(e);
  }

  private allocEntry(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    const e = this.high++;
    if (e >= this.bucketOf.length) {
      const bucketOf = new Int32Array(this.bucketOf.length * 2);
      bucketOf.set(this.bucketOf);
      this.bucketOf = bucketOf;
      const diskSeqno = new Float64Array(this.diskSeqno.length * 2);
      diskSeqno.set(this.diskSeqno);
      this.diskSeqno = diskSeqno;
      const accessedAt = new Uint32Array(this.accessedAt.length * 2);
      accessedAt.set(this.accessedAt);
      this.accessedAt = accessedAt;
      this.records.grow(this.bucketOf.length);
    }
    return e;
  }

  /** Removes entry `e` and shifts the entries probed after it back into the gap, so every
   * lookup still finds its key before the first empty bucket. */
  private remove(e: number): void {
    this.bytes -= entryCost(this.keys[e] as string, this.records.length(e));
    this.records.drop(e);
    this.keys[e] = undefined;
    this.free.push(e);
    this.count--;
    const bk = this.buckets;
    const mask = this.mask;
    let gap = this.bucketOf[e];
    bk[gap * STRIDE + B_ENTRY] = 0;
    for (let b = (gap + 1) & mask; ; b = (b + 1) & mask) {
      const s = bk[b * STRIDE + B_ENTRY];
      if (s === 0) return;
      const home = bk[b * STRIDE + B_HASH] & mask;
      // The entry at b may move to the gap unless its home lies cyclically in (gap, b].
      if (((b - home) & mask) >= ((b - gap) & mask)) {
        bk.copyWithin(gap * STRIDE, b * STRIDE, b * STRIDE + STRIDE);
        this.bucketOf[s - 1] = gap;
        bk[b * STRIDE + B_ENTRY] = 0;
        gap = b;
      }
    }
  }

  private grow(): void {
    const size = (this.mask + 1) * 2;
    const old = this.buckets;
    const bk = new Int32Array(size * STRIDE);
    const mask = size - 1;
    for (let e = 0; e < this.high; e++) {
      if (this.keys[e] === undefined) continue;
      const from = this.bucketOf[e] * STRIDE;
      let b = old[from + B_HASH] & mask;
      while (bk[b * STRIDE + B_ENTRY] !== 0) b = (b + 1) & mask;
      bk.set(old.subarray(from, from + STRIDE), b * STRIDE);
      this.bucketOf[e] = b;
    }
    this.buckets = bk;
    this.bucketBytes = new Uint8Array(bk.buffer);
    this.mask = mask;
  }

  /** CLOCK: ejects clean entries not read since the hand last passed until under quota, never
   * `keep` (the entry just inserted), at most MAX_HAND_STEPS entries passed. */
  private eject(keep: number): void {
    const bk = this.buckets;
    for (let steps = 0; steps < MAX_HAND_STEPS && this.bytes > this.quotaBytes; steps++) {
      const e = this.hand;
      this.hand = e + 1 >= this.high ? 0 : e + 1;
      if (e === keep || this.keys[e] === undefined) continue;
      const at = this.bucketOf[e] * STRIDE + B_STATE;
      const st = bk[at];
      if ((st & PINNED) !== 0) continue;
      if ((st & REFERENCED) !== 0) {
        bk[at] = st & ~REFERENCED;
        continue;
      }
      this.remove(e);
      this.ejections++;
    }
  }
}

function cost(key: string, record: Buffer): number {
  return entryCost(key, record.length);
}

function entryCost(key: string, recordLength: number): number {
  return key.length + recordLength + ENTRY_OVERHEAD;
}
