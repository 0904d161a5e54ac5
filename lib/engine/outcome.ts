/**
 * What an engine operation did, in engine terms (memcached store_item_type, kv engine_errc).
 * The server maps outcomes to wire statuses per opcode; the engine never sees a status code.
 */
export const Outcome = {
  Success: 0,
  /** CAS mismatch, or ADD of an existing key. */
  Exists: 1,
  NotFound: 2,
  /** APPEND/PREPEND/REPLACE target missing. */
  NotStored: 3,
  TooLarge: 4,
  NonNumeric: 5,
  NotMyVBucket: 6,
  /** Item commands are refused for now: warmup has not finished. */
  TempFail: 7,
  /** Writes are refused for now: the store cannot persist them (disk full, I/O errors). */
  WritesBlocked: 8,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];
