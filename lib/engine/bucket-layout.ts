/**
 * The words of a bucket of the resident table's index (bucket-table.ts), and touching buckets
 * ahead of their lookups (key-prefetch.ts).
 */
import { home } from './bucket-home.js';

// 8 int32 (32 bytes, half a cache line) per bucket.
export const B_ENTRY = 0; // entry number + 1; 0 = empty bucket
export const B_HASH = 1;
export const B_STATE = 2; // low byte: the entry's state bits (item-cache.ts); next byte: the key's length
export const KEYLEN_SHIFT = 8;
export const STATE_BITS = (1 << KEYLEN_SHIFT) - 1;
export const STRIDE = 8;
/** Byte offset of the inline key within a bucket, and the longest key kept inline. */
export const KEY_AT = 12;
export const INLINE_KEY_MAX = STRIDE * 4 - KEY_AT;
/** A longer key lies in the key arena; its bucket holds the chunk's address (in ALIGN units)
 * where an inline key would start. */
export const B_KEY_AT = KEY_AT / 4;

/** Buckets looked at from a key's home for its hash when guessing its entry. */
const GUESS_BUCKETS = 4;

/**
 * Touches the home bucket of each of `hashes[0, n)` in `bk` (`size` buckets), all before
 * using any (their cache misses overlap), then notes in `entries` the entry of the first
 * bucket near home with the same hash, -1 if none: a guess (the key is not compared, and a
 * table that is growing has some entries in its old buckets), good only for touching that
 * entry's words next. Returns what it read, for the caller to keep.
 */
export function touchHomes(bk: Int32Array, size: number, hashes: Int32Array, n: number, entries: Int32Array): number {
  const end = size * STRIDE;
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const at = home(hashes[i], size) * STRIDE;
    entries[i] = at;
    sink |= bk[at + B_ENTRY];
  }
  for (let i = 0; i < n; i++) {
    let at = entries[i];
    let e = -1;
    for (let k = 0; k < GUESS_BUCKETS; k++) {
      const s = bk[at + B_ENTRY];
      if (s === 0) break;
      if (bk[at + B_HASH] === hashes[i]) {
        e = s - 1;
        break;
      }
      at += STRIDE;
      if (at === end) at = 0;
    }
    entries[i] = e;
  }
  return sink;
}
