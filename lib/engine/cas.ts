/**
 * CAS generator: hybrid-logical-clock style, microseconds since the epoch, never repeating and
 * never going backwards (seeded at start-up with the highest CAS ever persisted). Values stay
 * below 2^53 until the year 2255, so they are exact JavaScript numbers.
 * The clock is the request clock's (request-clock.ts): read once per received chunk.
 */
import { requestEpochMs } from './request-clock.js';

export class CasGenerator {
  private last: number;

  constructor(floor = 0) {
    this.last = floor;
  }

  next(): number {
    const clock = requestEpochMs() * 1000;
    this.last = clock > this.last ? clock : this.last + 1;
    return this.last;
  }

  /** The highest CAS handed out so far. */
  get current(): number {
    return this.last;
  }

  /** Raises the floor, e.g. after reading a higher CAS from disk. */
  observe(cas: number): void {
    if (cas > this.last) this.last = cas;
  }
}
