/**
 * Keeping a DCP disk snapshot from costing disk: a snapshot is one LMDB read transaction, and
 * while it is open LMDB cannot reuse the pages later commits free, so under overwrites data.mdb
 * grows by hundreds of MB a minute (bench:snapshot). A snapshot held longer than
 * SNAPSHOT_HOLD_MS (a slow consumer) has its rest copied into memory and is released; a rest
 * over the connection's budget ends the stream instead (TOO_SLOW), and the consumer asks again
 * from where it is.
 */
import type { BackfillSource } from '../engine/item-storage.js';
import { endDiskSnapshot, type Stream } from './stream.js';

export const SNAPSHOT_HOLD_MS = 100;
export const SNAPSHOT_COPY_BUDGET = 64 * 1024 * 1024;

/** Copies what is left of the stream's disk snapshot and releases it; false (nothing changed
 * but the snapshot) when it is more than `budget` bytes. */
export function copyRest(source: BackfillSource, s: Stream, budget: number): boolean {
  const rest: Array<{ seqno: number; itemKey: Buffer; record: Buffer }> = [];
  let bytes = 0;
  for (const { seqno, itemKey, record } of source.committedBySeqno(s.vb.id, s.lastSent + 1, s.backfillEnd, s.disk ?? undefined)) {
    bytes += itemKey.length + record.length;
    if (bytes > budget) return false;
    rest.push({ seqno, itemKey, record: Buffer.from(record) });
  }
  endDiskSnapshot(s);
  s.rest = rest;
  s.restAt = 0;
  s.restBytes = bytes;
  return true;
}

/** The copied items with seqnos in [from, to], in order. */
export function* fromRest(s: Stream, from: number, to: number): Generator<{ seqno: number; itemKey: Buffer; record: Buffer }> {
  const rest = s.rest ?? [];
  while (s.restAt < rest.length && rest[s.restAt].seqno < from) s.restAt++;
  for (let i = s.restAt; i < rest.length && rest[i].seqno <= to; i++) yield rest[i];
}

/**
 * Releases held disk snapshots on time while the producer cannot send (flow control closed,
 * or the socket full): the hold check in the backfill runs only when the producer sends, so a
 * consumer that stopped acknowledging would otherwise keep its LMDB read transaction, and
 * data.mdb growing, for as long as it stays connected.
 */
export class HeldSnapshotWatch<S extends Stream> {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly streams: () => Iterable<S>,
    private readonly release: (s: S) => void,
    /** Flushes what the releases wrote; says whether the producer is still stalled. */
    private readonly stalled: () => boolean,
  ) {}

  /** Called when the producer stops for want of room: arm a release if a snapshot is held. */
  arm(): void {
    if (this.timer !== null || ![...this.streams()].some((s) => s.disk !== null)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      for (const s of [...this.streams()]) if (s.disk !== null && now - s.diskOpenedAt >= SNAPSHOT_HOLD_MS) this.release(s);
      if (this.stalled()) this.arm();
    }, SNAPSHOT_HOLD_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
