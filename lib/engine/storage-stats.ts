/**
 * What `stats` reports of the write path (the flusher) and the resident table, in one object.
 */
import type { CommitTimes } from './commit-times.js';
import type { Flusher } from './flusher.js';
import type { ItemCache } from './item-cache.js';

export interface StorageStats {
  /** Writes queued for the flusher, and the last batch committed. */
  backlog: number;
  committedBatch: number;
  unpersistedBytes: number;
  /** Committed batches (in the commit log) not yet in LMDB, and their writes' bytes. */
  unappliedBatches: number;
  unappliedBytes: number;
  /** Failed commits so far, whether writes are refused now, and the last failure. */
  diskErrors: number;
  /** The flusher's successful commits and how long they took. */
  commits: CommitTimes;
  writesBlocked: boolean;
  lastDiskErrorAt: number;
  lastDiskError: string;
  /** The resident table: its quota, content, lookups and ejections. */
  quotaBytes: number;
  items: number;
  bytes: number;
  hits: number;
  misses: number;
  ejections: number;
  /** Bytes of arena pages (record-arena.ts): resident records, uncommitted SETs' too. */
  arenaBytes: number;
}

export function storageStats(f: Flusher<unknown>, c: ItemCache): StorageStats {
  return {
    backlog: f.backlog,
    committedBatch: f.committedBatch,
    unpersistedBytes: f.unpersistedBytes,
    unappliedBatches: f.unappliedBatches,
    unappliedBytes: f.unappliedBytesNow,
    diskErrors: f.errors.count,
    commits: f.commitTimes,
    writesBlocked: f.blocked,
    lastDiskErrorAt: f.errors.lastAt,
    lastDiskError: f.errors.last,
    quotaBytes: c.quotaBytes,
    items: c.items,
    bytes: c.bytes,
    hits: c.hits,
    misses: c.misses,
    ejections: c.ejections,
    arenaBytes: c.arenaBytes,
  };
}
