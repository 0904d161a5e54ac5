/**
 * The resident table's index (item-cache.ts): key → entry number. Not a `Map`, which needs the
 * key as a string built per GET: a lookup hashes the key bytes where they lie in the request.
 * Open addressing, linear probing, one typed array of 32-byte buckets (two to a cache line: 64
 * bytes each cost 64 more bytes per item) holding entry number, hash, state, key length and, for
 * keys up to 20 bytes (the vBucket's 2 and a client key of up to 18), the key itself, compared in
 * the line already loaded. Longer keys lie in a key arena (record-arena.ts), the bucket holding
 * their address: no string object per key for the GC to mark. Deletion shifts later ones back.
 * The table grows by half when three quarters full, not doubling at half: buckets cost 43 to 64
 * bytes per item instead of 64 to 128 (a bucket from the hash scaled to the size, not a mask).
 *
 * Keys are item keys (key-codec.ts), given as bytes or as latin1 strings.
 */
import { hashBytes, hashString } from './key-hash.js';
import * as words from './entry-arrays.js';
import { EntryWords } from './entry-arrays.js';
import { distance, home } from './bucket-home.js';
import { LongKeys } from './long-keys.js';
import * as layout from './bucket-layout.js';
import { holdsBytes, holdsItemKey, holdsString } from './bucket-keys.js';

// Module constants, not the imported bindings: V8 reads an import through its module cell at
// every use, where it folds a const of this module (a probe loop: 6.3 against 4.1 ns).
const { B_ENTRY, B_HASH, B_KEY_AT, B_STATE, INLINE_KEY_MAX, KEY_AT, KEYLEN_SHIFT, STATE_BITS, STRIDE } = layout;
/** lookupOld's `vbid` when the key is not given as a vBucket and a client key. */
const NO_VBID = -1;
const { ENTRY_WORDS, W_BUCKET } = words;

/** Most entries per bucket before the table grows, and by how much it grows. */
const MAX_LOAD = 0.75;
const GROWTH = 1.5;
/** Old buckets moved per entry added while the table grows (grow): at 1.5 times, the new table
 * grows again after 0.375 of the old size in new entries; 8 per add empty the old within 0.125. */
const MOVE_PER_ADD = 8;

export class BucketTable {
  /** The entries' words (entry-arrays.ts); W_BUCKET: the bucket each entry sits in, exact through
   * shifts (removal is by entry): b >= 0 in the table, -2 - b in the old one (grow), -1 none. */
  private readonly ew: Int32Array;
  private buckets: Int32Array;
  /** The same memory as bytes, for the inline keys, and as a view (compared a word at a time). */
  private bucketBytes: Uint8Array;
  private bucketData: DataView;
  private size: number; // buckets
  private count = 0;
  /** The hash of the key `lookup` last probed for. */
  private lastHash = 0;
  /** Where a lookup last found its key (array, int offset) until the table changes: a read marks
   * its entry there, not reading its W_BUCKET word (a cache miss less per GET). */
  private foundInts: Int32Array = new Int32Array(STRIDE);
  private foundAt = 0;
  /** The table before the last growth while its entries move over (null: none), its size, and
   * how many of its buckets moved (below `moved`); a removal there leaves a tombstone (-1). */
  private old: Int32Array | null = null;
  private oldBytes: Uint8Array = new Uint8Array(0);
  private oldData: DataView = new DataView(new ArrayBuffer(0));
  private oldSize = 0;
  private moved = 0;

  /** `longKeys`: where keys too long for their bucket go (the owner checks it has room); `words`:
   * shared with the owner's other per-entry data (item-cache.ts), or the table's own. */
  constructor(entries: number, private readonly longKeys = new LongKeys(), private readonly words = new EntryWords(entries)) {
    this.ew = words.w;
    this.buckets = new Int32Array(entries * 2 * STRIDE);
    this.bucketBytes = new Uint8Array(this.buckets.buffer);
    this.bucketData = new DataView(this.buckets.buffer);
    this.size = entries * 2;
  }

  /** Room for entry numbers below `entries`. */
  growEntries(entries: number): void {
    this.words.grow(entries);
  }

  /** Whether entry e is in the table. */
  has(e: number): boolean {
    return this.ew[e * ENTRY_WORDS + W_BUCKET] !== -1;
  }

  /** The entry holding the key `buf[offset, offset+length)`, or -1. */
  find(buf: Uint8Array, offset: number, length: number): number {
    const found = this.lookupBytes(buf, offset, length);
    return found >= 0 ? found : -1;
  }

  /** The entry holding `key`, or -1. */
  findKey(key: string): number {
    const found = this.lookup(key);
    return found >= 0 ? found : -1;
  }

  /** The entry holding `key` (>= 0), or, when none does, ~slot: what `add` takes to place a
   * new entry for it, valid until the table next changes. */
  lookup(key: string): number {
    const h = hashString(key);
    this.lastHash = h;
    const bk = this.buckets;
    const size = this.size;
    for (let b = home(h, size); ; b = b + 1 === size ? 0 : b + 1) {
      const at = b * STRIDE;
      const s = bk[at + B_ENTRY];
      if (s === 0) return this.old === null ? ~b : this.lookupOld(h, NO_VBID, null, 0, 0, key, ~b);
      if (bk[at + B_HASH] === h && holdsString(bk, this.bucketData, at, this.longKeys, key)) return this.found(bk, at, s - 1);
    }
  }

  /** Places entry `e` for the key `lookup` just did not find, in its `slot`. */
  add(slot: number, e: number, key: string, state: number): void {
    const at = ~slot * STRIDE;
    this.buckets[at + B_STATE] = state | (key.length << KEYLEN_SHIFT);
    if (key.length > INLINE_KEY_MAX) {
      this.buckets[at + B_KEY_AT] = this.longKeys.storeString(key);
    } else {
      const kb = this.bucketBytes;
      const base = at * 4 + KEY_AT;
      for (let i = 0; i < key.length; i++) kb[base + i] = key.charCodeAt(i);
    }
    this.settle(~slot, e, this.lastHash);
  }

  /** Touches the home buckets of `hashes[0, n)` (bucket-layout.ts touchHomes). */
  touchHomes(hashes: Int32Array, n: number, entries: Int32Array): number {
    return layout.touchHomes(this.buckets, this.size, hashes, n, entries);
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
      if (s === 0) return this.old === null ? ~b : this.lookupOld(h, NO_VBID, buf, offset, length, null, ~b);
      if (bk[at + B_HASH] === h && holdsBytes(bk, this.bucketData, at, this.longKeys, buf, offset, length)) return this.found(bk, at, s - 1);
    }
  }

  /** The entry holding the item key of vBucket `vbid` and the client key `buf[offset, +length)`,
   * whose hash `h` the caller has (hashItemKey), or -1: a read's lookup, no item key built. */
  findItem(vbid: number, buf: Uint8Array, offset: number, length: number, h: number): number {
    const bk = this.buckets;
    const size = this.size;
    for (let b = home(h, size); ; b = b + 1 === size ? 0 : b + 1) {
      const at = b * STRIDE;
      const s = bk[at + B_ENTRY];
      if (s === 0) return this.old === null ? -1 : this.lookupOld(h, vbid, buf, offset, length, null, -1);
      if (bk[at + B_HASH] === h && holdsItemKey(bk, this.bucketData, at, this.longKeys, vbid, buf, offset, length)) return this.found(bk, at, s - 1);
    }
  }

  /** `add` for the key `lookupBytes` just did not find. */
  addBytes(slot: number, e: number, buf: Uint8Array, offset: number, length: number, state: number): void {
    const at = ~slot * STRIDE;
    this.buckets[at + B_STATE] = state | (length << KEYLEN_SHIFT);
    if (length > INLINE_KEY_MAX) {
      this.buckets[at + B_KEY_AT] = this.longKeys.store(buf, offset, length);
    } else {
      const kb = this.bucketBytes;
      const base = at * 4 + KEY_AT;
      for (let i = 0; i < length; i++) kb[base + i] = buf[offset + i];
    }
    this.settle(~slot, e, this.lastHash);
  }

  /** Whether entry `e` is in the table and holds the key `buf[offset, offset+length)` (it may
   * have changed hands since a write noted it: FLUSH and DEL_VBUCKET free entries under writes
   * in flight). */
  holdsBytes(e: number, buf: Uint8Array, offset: number, length: number): boolean {
    const b = this.ew[e * ENTRY_WORDS + W_BUCKET];
    if (b === -1) return false;
    return b >= 0 ? holdsBytes(this.buckets, this.bucketData, b * STRIDE, this.longKeys, buf, offset, length) : holdsBytes(this.old as Int32Array, this.oldData, (-2 - b) * STRIDE, this.longKeys, buf, offset, length);
  }

  /** Copies entry e's key into `dst` at `at`; returns its length. */
  copyKey(e: number, dst: Uint8Array, at: number): number {
    const length = this.keyLength(e);
    if (length > INLINE_KEY_MAX) {
      this.longKeys.copy(this.longKeyAt(e), length, dst, at);
      return length;
    }
    const kb = this.bytesOf(e);
    const base = this.offsetOf(e) * 4 + KEY_AT;
    for (let i = 0; i < length; i++) dst[at + i] = kb[base + i];
    return length;
  }

  /** The state bits of the entry the last lookup found, before the table changed since. */
  foundState(): number {
    return this.foundInts[this.foundAt + B_STATE] & STATE_BITS;
  }

  /** setState for the entry the last lookup found, before the table changed since. */
  setFoundState(state: number): void {
    const at = this.foundAt + B_STATE;
    this.foundInts[at] = (this.foundInts[at] & ~STATE_BITS) | state;
  }

  /** The state bits of entry e. */
  state(e: number): number {
    return this.intsOf(e)[this.offsetOf(e) + B_STATE] & STATE_BITS;
  }

  setState(e: number, state: number): void {
    const bk = this.intsOf(e);
    const at = this.offsetOf(e) + B_STATE;
    bk[at] = (bk[at] & ~STATE_BITS) | state;
  }

  keyLength(e: number): number {
    return this.intsOf(e)[this.offsetOf(e) + B_STATE] >>> KEYLEN_SHIFT;
  }

  /** Entry e's key as a latin1 string (built for the rare callers that list keys). */
  keyOf(e: number): string {
    const length = this.keyLength(e);
    if (length > INLINE_KEY_MAX) return this.longKeys.toString(this.longKeyAt(e), length);
    return Buffer.from(this.bytesOf(e).buffer, this.offsetOf(e) * 4 + KEY_AT, length).toString('latin1');
  }

  keyStartsWith(e: number, prefix: string): boolean {
    const length = this.keyLength(e);
    if (length < prefix.length) return false;
    if (length > INLINE_KEY_MAX) return this.longKeys.startsWith(this.longKeyAt(e), prefix);
    const kb = this.bytesOf(e);
    const base = this.offsetOf(e) * 4 + KEY_AT;
    for (let i = 0; i < prefix.length; i++) if (kb[base + i] !== prefix.charCodeAt(i)) return false;
    return true;
  }

  /** Removes entry `e` and shifts the entries probed after it back into the gap, so every
   * lookup still finds its key before the first empty bucket (in the old table, a tombstone). */
  remove(e: number): void {
    const length = this.keyLength(e);
    if (length > INLINE_KEY_MAX) this.longKeys.release(this.longKeyAt(e), length);
    this.count--;
    let gap = this.ew[e * ENTRY_WORDS + W_BUCKET];
    this.ew[e * ENTRY_WORDS + W_BUCKET] = -1;
    if (gap < -1) {
      (this.old as Int32Array)[(-2 - gap) * STRIDE + B_ENTRY] = -1;
      return;
    }
    const bk = this.buckets;
    const size = this.size;
    bk[gap * STRIDE + B_ENTRY] = 0;
    for (let b = gap + 1 === size ? 0 : gap + 1; ; b = b + 1 === size ? 0 : b + 1) {
      const s = bk[b * STRIDE + B_ENTRY];
      if (s === 0) return;
      const h = home(bk[b * STRIDE + B_HASH], size);
      // The entry at b may move to the gap unless its home lies cyclically in (gap, b].
      if (distance(h, b, size) >= distance(gap, b, size)) {
        bk.copyWithin(gap * STRIDE, b * STRIDE, b * STRIDE + STRIDE);
        this.ew[(s - 1) * ENTRY_WORDS + W_BUCKET] = gap;
        bk[b * STRIDE + B_ENTRY] = 0;
        gap = b;
      }
    }
  }

  /** While the table grows, moves a few more old buckets over: called where no slot from a
   * lookup is outstanding (a hit, an overwrite), so reads and overwrites after a load drain the
   * old table too, not only new keys. */
  moveSome(): void {
    if (this.old !== null) this.move(MOVE_PER_ADD);
  }

  clear(): void {
    this.longKeys.clear();
    this.words.fill(W_BUCKET, -1);
    this.buckets.fill(0);
    this.count = 0;
    this.dropOld();
  }

  /** Bytes of the key arena's pages. */
  get longKeyBytes(): number {
    return this.longKeys.bytes;
  }

  // ---- internals ----

  /** Entry e's long key's address (long-keys.ts). */
  private longKeyAt(e: number): number {
    return this.intsOf(e)[this.offsetOf(e) + B_KEY_AT];
  }

  /** Entry e's bucket array, and its bucket's int offset there. */
  private intsOf(e: number): Int32Array {
    return this.ew[e * ENTRY_WORDS + W_BUCKET] >= 0 ? this.buckets : (this.old as Int32Array);
  }

  private bytesOf(e: number): Uint8Array {
    return this.ew[e * ENTRY_WORDS + W_BUCKET] >= 0 ? this.bucketBytes : this.oldBytes;
  }

  private offsetOf(e: number): number {
    const b = this.ew[e * ENTRY_WORDS + W_BUCKET];
    return (b >= 0 ? b : -2 - b) * STRIDE;
  }

  /**
   * A key's entry in the old table (as bytes, as `key`, or as `vbid` and client key bytes), else `missed` (the new table's
   * slot for it). Its buckets below `moved` have moved and count as occupied: the run from a
   * key's home to its bucket was full when growth began, and since then buckets there only
   * moved (below `moved`) or became tombstones, so the probe skips to `moved` and goes on to
   * an empty bucket, or round to where it started.
   */
  private lookupOld(h: number, vbid: number, buf: Uint8Array | null, offset: number, length: number, key: string | null, missed: number): number {
    const bk = this.old as Int32Array;
    const kd = this.oldData;
    const size = this.oldSize;
    const moved = this.moved;
    const start = Math.max(home(h, size), moved);
    let wrapped = false;
    for (let b = start; ; b++) {
      if (b >= size) {
        if (wrapped) return missed;
        wrapped = true;
        b = moved;
      }
      if (wrapped && b >= start) return missed;
      const at = b * STRIDE;
      const s = bk[at + B_ENTRY];
      if (s === 0) return missed;
      if (s > 0 && bk[at + B_HASH] === h) {
        const holds = key !== null ? holdsString(bk, kd, at, this.longKeys, key) : vbid === NO_VBID ? holdsBytes(bk, kd, at, this.longKeys, buf as Uint8Array, offset, length) : holdsItemKey(bk, kd, at, this.longKeys, vbid, buf as Uint8Array, offset, length);
        if (holds) return this.found(bk, at, s - 1);
      }
    }
  }

  private found(bk: Int32Array, at: number, e: number): number {
    this.foundInts = bk;
    this.foundAt = at;
    return e;
  }

  /** Bucket b, its state and key written, becomes entry e's. */
  private settle(b: number, e: number, h: number): void {
    const at = b * STRIDE;
    this.buckets[at + B_ENTRY] = e + 1;
    this.buckets[at + B_HASH] = h;
    this.ew[e * ENTRY_WORDS + W_BUCKET] = b;
    if (this.old !== null) this.move(MOVE_PER_ADD);
    if (++this.count > this.size * MAX_LOAD) this.grow();
  }

  /**
   * Growth does not move every entry at once (a million at once stalled every connection for
   * 200-400 ms, mostly faulting in the new array): the larger table takes new entries, each add
   * moves MOVE_PER_ADD old buckets over, in order, and lookups try the new table, then the old.
   * Old buckets in order reach the new table in (nearly) ascending order too: homes are
   * monotone in the hash (`home`), positions follow homes but for a run that wrapped past the
   * end; so both arrays are walked forward.
   */
  private grow(): void {
    if (this.old !== null) this.move(this.oldSize);
    this.old = this.buckets;
    this.oldBytes = this.bucketBytes;
    this.oldData = this.bucketData;
    this.oldSize = this.size;
    this.moved = 0;
    const ew = this.ew;
    for (let at = W_BUCKET; at < ew.length; at += ENTRY_WORDS) if (ew[at] >= 0) ew[at] = -2 - ew[at];
    this.size = Math.ceil(this.size * GROWTH);
    this.buckets = new Int32Array(this.size * STRIDE);
    this.bucketBytes = new Uint8Array(this.buckets.buffer);
    this.bucketData = new DataView(this.buckets.buffer);
  }

  /** Moves up to `n` more of the old table's buckets into the table. */
  private move(n: number): void {
    const old = this.old as Int32Array;
    const bk = this.buckets;
    const size = this.size;
    const to = Math.min(this.oldSize, this.moved + n);
    for (let ob = this.moved; ob < to; ob++) {
      const from = ob * STRIDE;
      const entry = old[from + B_ENTRY];
      if (entry <= 0) continue;
      let b = home(old[from + B_HASH], size);
      while (bk[b * STRIDE + B_ENTRY] !== 0) b = b + 1 === size ? 0 : b + 1;
      const at = b * STRIDE;
      for (let i = 0; i < STRIDE; i++) bk[at + i] = old[from + i];
      this.ew[(entry - 1) * ENTRY_WORDS + W_BUCKET] = b;
    }
    this.moved = to;
    if (to === this.oldSize) this.dropOld();
  }

  private dropOld(): void {
    if (this.foundInts === this.old) this.foundInts = new Int32Array(STRIDE); // not kept alive by it
    this.old = null;
    this.oldBytes = new Uint8Array(0);
    this.oldData = new DataView(new ArrayBuffer(0));
    this.oldSize = 0;
    this.moved = 0;
  }
}
