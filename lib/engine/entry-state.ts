/**
 * The resident table's entry state (item-cache.ts). Bits a read sets live in the entry's bucket
 * (bucket-table.ts), which the read has just found; bits commits and applies change live in the
 * entry's access word (entry-arrays.ts W_ACCESSED, above its 30 bits of seconds), so a write's
 * commit and its apply touch the entry's words and not its bucket.
 */
import { coarseSeconds } from './coarse-clock.js';

/** Bucket bits: read since the hand last passed (CLOCK), and read since this version of the
 * item was stored (memcached's ITEM_FETCHED: mg's h flag). */
export const REFERENCED = 2;
export const FETCHED = 4;
export const BUCKET_STATE = REFERENCED | FETCHED;

/** Access-word bits: holds a write not yet in LMDB (never ejected); its record is an arena chunk
 * its write, not yet committed, owns (a newer write or a removal must not give the chunk back
 * while the batch may still read it). */
export const PINNED = 1 << 30;
export const WRITE_CHUNK = 1 << 31;
export const WORD_FLAGS = PINNED | WRITE_CHUNK;

/** The access word's seconds count from here (2023-11-14), 30 bits of them: until 2057. */
const ACCESS_EPOCH = 1_700_000_000;
const ACCESS_SECONDS = (1 << 30) - 1;

/** The access word's seconds for now. */
export function accessNow(): number {
  const s = coarseSeconds() - ACCESS_EPOCH;
  return s < 0 ? 0 : s > ACCESS_SECONDS ? ACCESS_SECONDS : s;
}

/** The Unix seconds an access word holds. */
export function accessedAt(word: number): number {
  return ACCESS_EPOCH + (word & ACCESS_SECONDS);
}
