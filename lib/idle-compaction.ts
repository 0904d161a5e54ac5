/**
 * One full garbage collection of the event loop's heap once the process is idle after a burst
 * of work: no request bytes in or out, and no writes waiting for the flusher or their commit, for
 * QUIET_CHECKS check intervals, after at least BURST_BYTES of requests since the last collection.
 *
 * Why: writes wait in memory until LMDB has them (tens to hundreds of milliseconds under
 * load), long enough for V8 to move them to the old generation, where they die. After a load
 * that garbage stays resident until V8's own memory reducer collects it, which it did in some
 * runs and not in others: 1M resident items took 1.46× memcached's memory after 30 s idle in
 * one run and 2.0× in the next (bench:memory). Collecting when nobody is waiting delays only
 * a request that arrives during it.
 * V8 exposes a collection only behind --expose-gc (store/exposed-gc.ts).
 */
import { getHeapStatistics } from 'node:v8';
import { exposedGc } from './store/exposed-gc.js';
import { log } from './log.js';

const CHECK_MS = 2000;
/** Checks in a row that must see no activity before collecting. V8 gives the young
 * generation's grown pages back (32 MB after a load of writes) only at a collection made while
 * its measure of recent allocation is low, which takes a few quiet seconds: a collection 2 s
 * after the load left them (bench:memory), one 6 s after gave them back. */
const QUIET_CHECKS = 3;
/** Request bytes moved since the last collection that make a burst worth one. Counted in bytes,
 * not read off the heap's size: V8 may have collected part of the garbage on its own, and a
 * heap-size bar made the decision depend on when it did. */
const BURST_BYTES = 16 * 1024 * 1024;

export interface IdleProbe {
  /** Request bytes in and out so far: changes whenever clients make the process work. */
  activity(): number;
  /** Whether writes wait for the flusher or for their commit (not for LMDB: committed writes
   * hold nothing on the V8 heap a collection would free). */
  writesPending(): boolean;
  /** Called after each collection. */
  compacted(): void;
}

export class IdleHeapCompaction {
  private timer: NodeJS.Timeout | null = null;
  private lastActivity = -1;
  private quietChecks = 0;
  /** Activity at the last collection (or at start). */
  private collectedAt = 0;
  private readonly collect: (() => void) | null = exposedGc();

  constructor(private readonly probe: IdleProbe) {}

  start(): void {
    if (this.collect === null) {
      log.warn('idle heap collection unavailable: V8 did not expose gc');
      return;
    }
    this.collectedAt = this.probe.activity();
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private check(): void {
    const activity = this.probe.activity();
    const moved = activity !== this.lastActivity;
    this.lastActivity = activity;
    this.quietChecks = moved ? 0 : this.quietChecks + 1;
    if (this.quietChecks < QUIET_CHECKS || this.collect === null || activity - this.collectedAt < BURST_BYTES) return;
    if (this.probe.writesPending()) {
      log.debug('idle: writes still pending, heap collection deferred');
      return;
    }
    const before = getHeapStatistics().used_heap_size;
    this.collect();
    this.collectedAt = activity;
    log.debug(`idle: heap collected, ${before >> 20} MB -> ${getHeapStatistics().used_heap_size >> 20} MB`);
    this.probe.compacted();
  }
}
