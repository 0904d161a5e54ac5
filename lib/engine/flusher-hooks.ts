/**
 * What the flusher (flusher.ts) is given: when batches may start, and what it calls back into
 * (the item storage) at each step of a batch's life.
 */
import type { ItemKeySource } from '../store/store.js';
import type { PendingWrite, VBucket } from './vbucket.js';

/** When batches start: no sooner than `intervalMs` after the previous one started (fewer,
 * larger commits under load, no added latency when idle), and never sooner than `holdMs` after
 * being scheduled (a test hook that keeps an unpersisted tail in memory). */
export interface FlusherPacing {
  intervalMs: number;
  holdMs: number;
}

export interface FlusherHooks<Unapplied> {
  /** Meta values refreshed into every batch (e.g. the CAS high-water mark). */
  meta(): ReadonlyMap<string, unknown>;
  /** The max CAS to persist with every vBucket state. */
  maxCas(): number;
  /** Called after a batch committed (durable), with the high seqno it holds per vBucket and
   * its writes; returns what is kept of them until the batch is applied. */
  committed(highSeqnos: ReadonlyMap<VBucket, number>, writes: readonly PendingWrite[]): Unapplied;
  /** Called after a committed batch is applied (in LMDB), with what `committed` kept. */
  applied(kept: Unapplied, highSeqnos: ReadonlyMap<VBucket, number>): void;
  /** Whether a newer write of `w`'s key is among the writes issued after it up to the one
   * stamped `lastStamp` (the batch's last); false when it cannot tell (the batch then writes
   * `w` too, harmlessly, before the newer one). */
  supersededBy(w: PendingWrite, lastStamp: number): boolean;
  /** The keys of writes made without a key string (PendingWrite.keyString). */
  keys: ItemKeySource<PendingWrite>;
  /** The item key of `w` as a string (made if `w` has none). */
  keyString(w: PendingWrite): string;
}

/** Failed commits so far, and the last one. */
export interface DiskErrors {
  count: number;
  /** Unix milliseconds of the last failure (0: none). */
  lastAt: number;
  last: string;
}
