/**
 * One DCP stream of a producer: its position, phase (backfill from a disk snapshot, then live
 * from memory), its in-memory queue with the cursor-dropping limit, and a takeover's progress.
 * The producer (producer.ts) drives it.
 */
import type { ReadSnapshot } from '../store/store.js';
import type { PendingWrite, VBucket, VBucketState } from '../engine/vbucket.js';

/** What a stream needs of its producer. */
export interface StreamOwner {
  wake(s: Stream): void;
  readonly stats: { cursorsDropped: number };
}

/** A live queue beyond this is dropped; the stream re-reads from disk (cursor dropping). */
const LIVE_QUEUE_LIMIT = 20_000;

export class Stream {
  /** Every seqno up to here is covered: sent, or superseded by a later one. */
  lastSent: number;
  phase: 'backfill' | 'live' | 'ended' = 'backfill';
  /** End of the snapshot whose marker was sent and whose items are still going out. */
  snapshotEnd = 0;
  queue: PendingWrite[] = [];
  /** Backfill position inside the current disk snapshot. */
  backfillEnd = 0;
  /** The point in time the current disk snapshot is read from (open while backfillEnd > 0):
   * a key overwritten meanwhile is still sent at its old seqno, as the marker promised. */
  disk: ReadSnapshot | null = null;
  diskOpenedAt = 0;
  /** The rest of the current disk snapshot, copied out of a snapshot held too long (which
   * would keep LMDB from reusing pages and grow the file); `restBytes` is what it holds. */
  rest: Array<{ seqno: number; itemKey: Buffer; record: Buffer }> | null = null;
  restAt = 0;
  restBytes = 0;
  /** A flush barrier to tell the consumer before anything else (0: none). */
  pendingFlush = 0;
  /** A takeover stream (kv_engine's TAKEOVER flag): once caught up it moves the vBucket to the
   * consumer: pending there, dead here, the rest sent, active there. */
  takeover = false;
  takeoverPhase: 'streaming' | 'pendingSent' | 'settingDead' | 'dead' | 'activeSent' = 'streaming';
  /** Markers sent with the ACK flag and not yet answered. */
  markerAcks = 0;
  /** The vBucket's state when the stream began; any change ends the stream (STATE_CHANGED). */
  readonly state: VBucketState;
  readonly listener = (w: PendingWrite): void => this.enqueue(w);

  constructor(
    readonly vb: VBucket,
    readonly opaque: number,
    start: number,
    readonly end: number,
    private readonly producer: StreamOwner,
  ) {
    this.lastSent = start;
    this.state = vb.state;
  }

  private enqueue(w: PendingWrite): void {
    if (this.phase !== 'live') return;
    if (this.queue.length >= LIVE_QUEUE_LIMIT) {
      // The consumer is too slow to follow memory: forget the queue and catch up from disk.
      this.queue = [];
      this.phase = 'backfill';
      this.vb.listeners.delete(this.listener);
      this.producer.stats.cursorsDropped++;
    } else {
      this.queue.push(w);
      w.streams++;
    }
    this.producer.wake(this);
  }
}

export function endDiskSnapshot(s: Stream): void {
  s.disk?.close();
  s.disk = null;
}

/** The disk snapshot is sent whole: forget its copied rest too. */
export function endBackfillSnapshot(s: Stream): void {
  endDiskSnapshot(s);
  s.rest = null;
  s.restAt = 0;
  s.restBytes = 0;
}

