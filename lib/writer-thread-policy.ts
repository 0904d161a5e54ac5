/**
 * Puts the log and apply threads (the store's writers) in Linux's SCHED_BATCH policy while
 * commits keep up (`--helper-policy batch`, the default), and back in the normal policy while
 * they lag and for the shutdown's last commits.
 *
 * Why: the event loop wakes the log thread for every flusher batch; at nice 0 in the normal
 * policy the woken thread preempts the event loop on its core, and the event loop waits inside
 * its postMessage (80–128 µs a batch under an unpipelined 90/10 load against 24–35 in
 * SCHED_BATCH, which never preempts at wakeup and keeps its full share of the CPU: 90/10
 * unpipelined +20–24% with --ack=persist, bench/RESULTS.md session 37). But a woken writer
 * that does not preempt waits for a CPU: with other processes busy on every core, commits
 * fell behind and a SIGTERM under load could not finish them in time (session 37). So the
 * writers get wakeup preemption back whenever commits lag as --ack=memory judges it (the oldest
 * uncommitted write past its 20 ms bound, or 8 MB uncommitted: replies start to wait), keep it until commits have
 * kept up for a while, and get it for good at shutdown. SCHED_IDLE would take the writers' share
 * away, and a nice value does not stop wakeup preemption. Node has no call for a thread's
 * policy, so util-linux's `chrt` sets it, run by one shell started before the store opens
 * (policy-shell.ts: a child process per call would fork this process on the event loop); where
 * `chrt` or the thread is missing, nothing changes but a debug line.
 */
import { log } from './log.js';
import { PolicyShell } from './policy-shell.js';
import type { HelperPolicy } from './settings.js';

/** How often the lag is looked at. */
const CHECK_MS = 100;
/** How long commits must keep up before the writers go back to SCHED_BATCH: a load that
 * lags now and then stays in the normal policy rather than switching at every lag. */
const CALM_MS = 5_000;

/** Switches the writers between SCHED_BATCH (commits keep up) and normal (they lag). */
export class WriterPolicy {
  private current: HelperPolicy = 'normal';
  /** The last time commits were seen lagging (performance.now()). */
  private laggedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The switch under way; the next waits for it (two `chrt` on one thread race). */
  private switching: Promise<void> = Promise.resolve();
  private readonly shell = new PolicyShell();
  /** `tids`: the writers' kernel thread ids; `lagging`: whether commits lag now; `switched`:
   * told of each switch after start (stats). */
  constructor(
    private readonly tids: () => readonly number[],
    private readonly lagging: () => boolean,
    private readonly switched: () => void = () => undefined,
  ) {
    if (process.platform === 'linux') this.shell.start();
  }

  get policy(): HelperPolicy {
    return this.current;
  }

  start(): void {
    if (this.timer !== null || this.stopped) return;
    void this.set('batch');
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** Back to the normal policy for good (the shutdown's commits). */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    return this.set('normal').then(() => this.shell.close());
  }

  private check(): void {
    const now = performance.now();
    if (this.lagging()) {
      this.laggedAt = now;
      if (this.current === 'batch') {
        log.debug('commits lag: writer threads back in the normal policy');
        this.switched();
        void this.set('normal');
      }
    } else if (this.current === 'normal' && now - this.laggedAt > CALM_MS) {
      log.debug('commits keep up: writer threads in SCHED_BATCH');
      this.switched();
      void this.set('batch');
    }
  }

  private set(policy: HelperPolicy): Promise<void> {
    if (policy === this.current) return this.switching;
    this.current = policy;
    if (process.platform !== 'linux') return this.switching;
    const tids = this.tids().filter((tid) => tid > 0);
    this.switching = this.switching.then(() => this.shell.chrt(policy === 'batch' ? '--batch' : '--other', tids));
    return this.switching;
  }
}
