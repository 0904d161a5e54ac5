/**
 * Keeps the event loop's young generation (V8's new space) at most about 8 MB, as the helper
 * threads' already are (store/worker-limits.ts).
 *
 * Why: under a load of writes V8 grows the new space to its default 32 MB and gives the pages
 * back only when its memory reducer collects a quiet process, seconds later: right after a load
 * of 1M items those 32 MB were a tenth of the process's anonymous memory (bench:memory). A
 * smaller new space is scavenged more often, each time as cheaply (its cost is what survives,
 * not its size), and writes live only until their commit, a few milliseconds.
 *
 * How: the main isolate's maximum cannot be set once it exists (--max-semi-space-size is read at
 * isolate creation only, and a node started by hand or by a package manager has no flags), but
 * V8 reads --semi-space-growth-factor each time it grows the new space. After each collection the
 * factor is set to 2 while one more doubling of the capacity stays within the cap, else to 1. If the
 * memory reducer shrinks the space after a load, growth resumes up to the cap. Creating an
 * isolate (a worker thread) resets the factor to 2: startup waits for the store's threads and
 * calls reapply() before warmup, and lmcached creates no isolate after that.
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The largest new space kept (both semi-spaces: 4 MB each, as V8 reports a 4 MB semi-space). */
export const YOUNG_GENERATION_CAP_BYTES = 9 * 1024 * 1024;

/** The event loop's new space as V8 reports it now (its committed size). */
export function youngGenerationBytes(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size;
  return 0;
}

/** The size the new space grows from: both semi-spaces at their capacity. Not the committed
 * size: a full collection uncommits the empty semi-space and halves that figure while the
 * capacity stays, and a growth decided on it went from 4 MB committed straight to 16 MB. */
function youngGenerationCapacity(): number {
  for (const s of getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space') return 2 * (s.space_used_size + s.space_available_size);
  }
  return 0;
}

export class YoungGenerationCap {
  private observer: PerformanceObserver | null = null;
  /** The factor last set (null: none yet). */
  private growing: boolean | null = null;

  constructor(private readonly capBytes = YOUNG_GENERATION_CAP_BYTES) {}

  start(): void {
    if (this.observer !== null) return;
    this.observer = new PerformanceObserver((list) => this.afterCollections(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
    this.adjust();
  }

  /** Sets the growth factor again now: call it once a new isolate (a worker thread) exists,
   * before the event loop allocates much; until then V8's reset lets each scavenge that grows
   * the new space double it, past the cap. */
  reapply(): void {
    this.growing = null;
    this.adjust();
  }

  stop(): void {
    this.observer?.disconnect();
    this.observer = null;
  }

  private afterCollections(entries: PerformanceEntry[]): void {
    // Only scavenges grow the new space; a full collection may shrink it.
    for (const e of entries) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR || kind === constants.NODE_PERFORMANCE_GC_MAJOR) return this.adjust();
    }
  }

  private adjust(): void {
    const grow = youngGenerationCapacity() * 2 <= this.capBytes;
    // Set again even when unchanged: V8 resets a factor below 2 to 2 whenever an isolate is
    // created (Heap::ConfigureHeap), and worker threads create theirs at any time.
    if (grow && this.growing === true) return;
    this.growing = grow;
    setFlagsFromString(`--semi-space-growth-factor=${grow ? 2 : 1}`);
  }
}

/** The event loop's cap: one per process, started by young-generation-start.ts before the
 * server's modules load, stopped at shutdown. */
export const youngGenerationCap = new YoungGenerationCap();
