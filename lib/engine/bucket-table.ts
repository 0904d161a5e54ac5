/**
 * The resident table's index (item-cache.ts): key → entry number. Not a `Map`, which needs the
 * key as a string built per GET: a lookup hashes the key bytes where they lie in the request.
 * Open addressing, linear probing, one typed array of 32-byte buckets (two to a cache line: 64
 * bytes each cost 64 more bytes per item) holding entry number, hash, state, key length and, for
 * keys up to 20 bytes (the vBucket's 2 and a client key of up to 18), the key itself, compared in
 * the line already loaded. Only longer keys are kept as strings: a million string objects cost
 * about 40 MB and every full GC marks them. Deletion shifts later entries back (no tombstones).
 * The table grows by half when three quarters full, not doubling at half: buckets cost 43 to 64
 * bytes per item instead of 64 to 128 (a bucket from the hash scaled to the size, not a mask).
 *
 * Keys are item keys (key-codec.ts), given as bytes or as latin1 strings.
 */
import { hashBytes, hashString, keyEquals } from './key-hash.js';

// Bucket layout: 8 int32 (32 bytes, half a cache line) per bucket.
const B_ENTRY = 0; // entry number + 1; 0 = empty bucket
const B_HASH = 1;
const B_STATE = 2; // low byte: the entry's state bits (item-cache.ts); next byte: the key's length
const KEYLEN_SHIFT = 8;
const STATE_BITS = (1 << KEYLEN_SHIFT) - 1;
const STRIDE = 8;
/** Most entries per bucket before the table grows, and by how much it grows. */
const MAX_LOAD = 0.75;
const GROWTH = 1.5;
/** Byte offset of the inline key within a bucket, and the longest key kept inline. */
const KEY_AT = 12;
export const INLINE_KEY_MAX = STRIDE * 4 - KEY_AT;

export class BucketTable {
  /** Bucket each entry sits in (kept exact through shifts, for removal by entry); -1 for an
   * entry not in the table. */
  private bucketOf: Int32Array;
  /** Entry e's key when too long for its bucket. */
  private readonly longKeys = new Map<number, string>();
  private buckets: Int32Array;
  /** The same memory as bytes, for the inline keys. */
  private bucketBytes: Uint8Array;
  /** Number of buckets. */
  private size: number;
  private count = 0;
  /** The hash of the key `lookup` last probed for. */
  private lastHash = 0;

  constructor(entries: number) {
    this.bucketOf = new Int32Array(entries).fill(-1);
    this.buckets = new Int32Array(entries * 2 * STRIDE);
    this.bucketBytes = new Uint8Array(this.buckets.buffer);
    this.size = entries * 2;
  }

  /** Room for entry numbers below `entries`. */
  growEntries(entries: number): void {
    const bucketOf = new Int32Array(entries).fill(-1);
    bucketOf.set(this.bucketOf);
    this.bucketOf = bucketOf;
  }

  /** Whether entry e is in the table. */
  has(e: number): boolean {
    return this.bucketOf[e] >= 0;
  }

  /** The entry holding the key `buf[offset, offset+length)`, or -1. */
  find(buf: Uint8Array, offset: number, length: number): number {
    const found = this.lookupBytes(buf, offset, length);
    return found >= 0 ? found : -1;
  }

  /** The entry holding `key`, or -1. */
  findKey(key: string): number {
    const b = this.probe(key, hashString(key));
    return b >= 0 ? this.buckets[b * STRIDE + B_ENTRY] - 1 : -1;
  }


  /** The entry holding `key` (>= 0), or, when none does, ~slot: what `add` takes to place a
   * new entry for it, valid until the table next changes. */
  lookup(key: string): number {
    const h = hashString(key);
    this.lastHash = h;
    const b = this.probe(key, h);
    return b >= 0 ? this.buckets[b * STRIDE + B_ENTRY] - 1 : b;
  }

  /** Places entry `e` for the key `lookup` just did not find, in its `slot`. */
  add(slot: number, e: number, key: string, state: number): void {
    this.place(~slot, e, this.lastHash, key, state);
  }

  /** `lookup` for a key given as bytes (a write's, where it lies in the request). */
  lookupBytes(buf: Uint8Array, offset: number, length: number): number {
    const h = hashBytes(buf, offset, length);
    this.lastHash = h;
    const bk = this.buckets;
    const size = this.size;
    for (let b = home(h, size); ; b = b + 1 === size ? 0 : b + 1) {
      const at = b * STRIDE;
      const s = bk[at + B_ENTRY];
      if (s === 0) return ~b;
      if (bk[at + B_HASH] === h && this.matches(at, s - 1, buf, offset, length)) return s - 1;
    }
  }

  /** `add` for the key `lookupBytes` just did not find; only a key too long for its bucket
   * becomes a string. */
  addBytes(slot: number, e: number, buf: Uint8Array, offset: number, length: number, state: number): void {
    if (length > INLINE_KEY_MAX) return this.place(~slot, e, this.lastHash, Buffer.from(buf.buffer, buf.byteOffset + offset, length).toString('latin1'), state);
    const at = ~slot * STRIDE;
    this.buckets[at + B_STATE] = state | (length << KEYLEN_SHIFT);
    const kb = this.bucketBytes;
    const base = at * 4 + KEY_AT;
    for (let i = 0; i < length; i++) kb[base + i] = buf[offset + i];
    this.settle(~slot, e, this.lastHash);
  }

  /** Whether entry `e` is in the table and holds the key `buf[offset, offset+length)` (it may
   * have changed hands since a write noted it: FLUSH and DEL_VBUCKET free entries under writes
   * in flight). */
  holdsBytes(e: number, buf: Uint8Array, offset: number, length: number): boolean {
    const b = this.bucketOf[e];
    return b >= 0 && this.matches(b * STRIDE, e, buf, offset, length);
  }

  /** Copies entry e's key into `dst` at `at`; returns its length. */
  copyKey(e: number, dst: Uint8Array, at: number): number {
    const length = this.keyLength(e);
    if (length > INLINE_KEY_MAX) {
      const key = this.longKeys.get(e) as string;
      for (let i = 0; i < length; i++) dst[at + i] = key.charCodeAt(i);
      return length;
    }
    const kb = this.bucketBytes;
    const base = this.bucketOf[e] * STRIDE * 4 + KEY_AT;
    for (let i = 0; i < length; i++) dst[at + i] = kb[base + i];
    return length;
  }

  /** The state bits of entry e. */
  state(e: number): number {
    return this.buckets[this.bucketOf[e] * STRIDE + B_STATE] & STATE_BITS;
  }

  setState(e: number, state: number): void {
    const at = this.bucketOf[e] * STRIDE + B_STATE;
    this.buckets[at] = (this.buckets[at] & ~STATE_BITS) | state;
  }

  keyLength(e: number): number {
    return this.buckets[this.bucketOf[e] * STRIDE + B_STATE] >>> KEYLEN_SHIFT;
  }

  /** Entry e's key as a latin1 string (built for the rare callers that list keys). */
  keyOf(e: number): string {
    const length = this.keyLength(e);
    if (length > INLINE_KEY_MAX) return this.longKeys.get(e) as string;
    return Buffer.from(this.bucketBytes.buffer, this.bucketOf[e] * STRIDE * 4 + KEY_AT, length).toString('latin1');
  }

  keyStartsWith(e: number, prefix: string): boolean {
    const length = this.keyLength(e);
    if (length < prefix.length) return false;
    if (length > INLINE_KEY_MAX) return (this.longKeys.get(e) as string).startsWith(prefix);
    const kb = this.bucketBytes;
    const base = this.bucketOf[e] * STRIDE * 4 + KEY_AT;
    for (let i = 0; i < prefix.length; i++) if (kb[base + i] !== prefix.charCodeAt(i)) return false;
    return true;
  }

  /** Removes entry `e` and shifts the entries probed after it back into the gap, so every
   * lookup still finds its key before the first empty bucket. */
  remove(e: number): void {
    if (this.keyLength(e) > INLINE_KEY_MAX) this.longKeys.delete(e);
    this.count--;
    const bk = this.buckets;
    const size = this.size;
    let gap = this.bucketOf[e];
    this.bucketOf[e] = -1;
    bk[gap * STRIDE + B_ENTRY] = 0;
    for (let b = gap + 1 === size ? 0 : gap + 1; ; b = b + 1 === size ? 0 : b + 1) {
      const s = bk[b * STRIDE + B_ENTRY];
      if (s === 0) return;
      const h = home(bk[b * STRIDE + B_HASH], size);
      // The entry at b may move to the gap unless its home lies cyclically in (gap, b].
      if (distance(h, b, size) >= distance(gap, b, size)) {
        bk.copyWithin(gap * STRIDE, b * STRIDE, b * STRIDE + STRIDE);
        this.bucketOf[s - 1] = gap;
        bk[b * STRIDE + B_ENTRY] = 0;
        gap = b;
      }
    }
  }

  clear(): void {
    this.longKeys.clear();
    this.bucketOf.fill(-1);
    this.buckets.fill(0);
    this.count = 0;
  }

  // ---- internals ----

  /** The bucket holding `key` (hash `h`), or ~b for the empty bucket b where it would go. */
  private probe(key: string, h: number): number {
    const bk = this.buckets;
    const size = this.size;
    for (let b = home(h, size); ; b = b + 1 === size ? 0 : b + 1) {
      const s = bk[b * STRIDE + B_ENTRY];
      if (s === 0) return ~b;
      if (bk[b * STRIDE + B_HASH] === h && this.matchesString(b * STRIDE, s - 1, key)) return b;
    }
  }

  private place(b: number, e: number, h: number, key: string, state: number): void {
    const at = b * STRIDE;
    this.buckets[at + B_STATE] = state | (key.length << KEYLEN_SHIFT);
    if (key.length > INLINE_KEY_MAX) {
      this.longKeys.set(e, key);
    } else {
      const kb = this.bucketBytes;
      const base = at * 4 + KEY_AT;
      for (let i = 0; i < key.length; i++) kb[base + i] = key.charCodeAt(i);
    }
    this.settle(b, e, h);
  }

  /** Bucket b, its state and key written, becomes entry e's. */
  private settle(b: number, e: number, h: number): void {
    const at = b * STRIDE;
    this.buckets[at + B_ENTRY] = e + 1;
    this.buckets[at + B_HASH] = h;
    this.bucketOf[e] = b;
    if (++this.count > this.size * MAX_LOAD) this.grow();
  }

  /** Whether the bucket at int offset `at` (entry `e`) holds the key `buf[offset, +length)`. */
  private matches(at: number, e: number, buf: Uint8Array, offset: number, length: number): boolean {
    if (this.buckets[at + B_STATE] >>> KEYLEN_SHIFT !== length) return false;
    if (length > INLINE_KEY_MAX) return keyEquals(this.longKeys.get(e) as string, buf, offset, length);
    const kb = this.bucketBytes;
    const base = at * 4 + KEY_AT;
    for (let i = 0; i < length; i++) if (kb[base + i] !== buf[offset + i]) return false;
    return true;
  }

  /** `matches` for a key given as a latin1 string. */
  private matchesString(at: number, e: number, key: string): boolean {
    const length = key.length;
    if (this.buckets[at + B_STATE] >>> KEYLEN_SHIFT !== length) return false;
    if (length > INLINE_KEY_MAX) return this.longKeys.get(e) === key;
    const kb = this.bucketBytes;
    const base = at * 4 + KEY_AT;
    for (let i = 0; i < length; i++) if (kb[base + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Old buckets in order go to the new table in (nearly) ascending order too: a home is
   * monotone in the hash (`home`), and a bucket's position follows its home but for a run
   * that wrapped past the end. So both arrays are walked forward, not hit at random: growing
   * to a million entries took 412 ms at random, a stall of every connection. */
  private grow(): void {
    const size = Math.ceil(this.size * GROWTH);
    const old = this.buckets;
    const end = this.size * STRIDE;
    const bk = new Int32Array(size * STRIDE);
    for (let from = 0; from < end; from += STRIDE) {
      const entry = old[from + B_ENTRY];
      if (entry === 0) continue;
      let b = home(old[from + B_HASH], size);
      while (bk[b * STRIDE + B_ENTRY] !== 0) b = b + 1 === size ? 0 : b + 1;
      const to = b * STRIDE;
      for (let i = 0; i < STRIDE; i++) bk[to + i] = old[from + i];
      this.bucketOf[entry - 1] = b;
    }
    this.buckets = bk;
    this.bucketBytes = new Uint8Array(bk.buffer);
    this.size = size;
  }
}

/** The bucket a hash starts probing at: the hash scaled onto the table (multiply, not modulo),
 * so homes keep the hashes' order at every size (see grow). The product is below 2^32 * size
 * even rounded (a double's spacing there is size / 2^20), so the home is below size. */
function home(h: number, size: number): number {
  return Math.floor(((h >>> 0) * size) / 4294967296);
}

/** How many buckets forward `to` lies from `from`, wrapping around. */
function distance(from: number, to: number, size: number): number {
  return to >= from ? to - from : to - from + size;
}
