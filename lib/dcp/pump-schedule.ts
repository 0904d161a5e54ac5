/**
 * When a DCP producer pumps, and which of its streams a pump looks at. A replica opens a
 * stream per vBucket (1024) and a write wakes one of them, so a pump visits the streams that
 * may have work, not all of them. Pumps of one producer start at least `intervalMs` apart
 * (--dcp-batch-ms): under a steady write load the items of those milliseconds leave in one
 * socket write. Each write wakes the consumer's process, which on loopback the producer's
 * thread pays for in the system call: 30–60 µs against about 1 µs per item encoded. At 6,000
 * writes/s a replica cost its active +17–22% CPU per write at 1 ms, +13–17% at 5 ms and +11% at
 * 8 ms on one machine (session 31), +22% at 5 ms and +13–14% at 10 ms (the --ack=memory default)
 * on another (session 33). An idle producer pumps on the next turn, so a lone write is not
 * delayed.
 */
import type { Stream } from './stream.js';

export class PumpSchedule {
  /** Streams that may have work. */
  private readonly ready = new Set<Stream>();
  /** The next pump looks at every stream (a vBucket's state may have changed). */
  private checkAll = false;
  private scheduled = false;
  private closed = false;
  private lastPump = -Infinity;

  constructor(
    private readonly pump: () => void,
    private readonly streams: () => Iterable<Stream>,
    private readonly intervalMs: number,
  ) {}

  /** Every stream is looked at on the next pump. */
  everyStream(): void {
    this.checkAll = true;
    this.kick();
  }

  wake(s: Stream): void {
    this.ready.add(s);
    this.kick();
  }

  /** An ended stream. */
  forget(s: Stream): void {
    this.ready.delete(s);
  }

  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    const wait = this.lastPump + this.intervalMs - performance.now();
    if (wait <= 0) setImmediate(this.run);
    else setTimeout(this.run, wait);
  }

  /** The streams this pump is to look at. */
  streamsToPump(): Set<Stream> {
    if (this.checkAll) {
      this.checkAll = false;
      for (const s of this.streams()) this.ready.add(s);
    }
    return this.ready;
  }

  close(): void {
    this.closed = true;
    this.ready.clear();
  }

  private readonly run = (): void => {
    this.scheduled = false;
    this.lastPump = performance.now();
    this.pump();
  };
}
