/**
 * Lowers the scheduling priority of every thread of this process except the event-loop thread
 * and those it is told to keep (the log and apply threads, which write: starved, they held back
 * acknowledgements and let LMDB fall behind): libuv's pool and V8's GC helpers.
 *
 * Why: the event-loop thread serves every request, so on a machine with few cores it is the
 * bottleneck, and the kernel tends to wake a helper on the core of the thread that woke it,
 * preempting the event loop (about a thousand times a second under load, measured on a 2-core
 * VM). At a higher nice value a helper still gets idle CPU on either core but yields to the
 * event loop. Linux applies setpriority() with a thread id to that thread alone; elsewhere (no
 * /proc/self/task) this does nothing.
 */
import { readdirSync } from 'node:fs';
import { setPriority } from 'node:os';
import { log } from './log.js';

/** Helper threads can appear later (libuv starts its pool on first use), so look again now and
 * then; a thread already seen is left alone. */
const RECHECK_MS = 5000;

export class HelperThreadPriority {
  private readonly done = new Set<number>();
  private timer: NodeJS.Timeout | null = null;

  /** `keep`: kernel ids of threads left at normal priority besides the event loop's. */
  constructor(
    private readonly nice: number,
    private readonly keep: () => readonly number[],
  ) {}

  start(): void {
    if (this.nice === 0) return;
    this.apply();
    this.timer = setInterval(() => this.apply(), RECHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private apply(): void {
    let tids: string[];
    try {
      tids = readdirSync('/proc/self/task');
    } catch {
      this.stop();
      return;
    }
    const keep = this.keep();
    for (const name of tids) {
      const tid = Number(name);
      if (tid === process.pid || this.done.has(tid) || keep.includes(tid)) continue;
      try {
        setPriority(tid, this.nice);
        this.done.add(tid);
      } catch (err) {
        // The thread may have exited between the listing and the call.
        log.debug(`helper thread ${tid}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
