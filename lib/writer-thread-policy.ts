/**
 * Puts the apply thread in Linux's SCHED_IDLE policy while nothing waits for its applies and,
 * under --ack=persist, the log thread in SCHED_BATCH while commits keep up (`--helper-policy
 * batch`, the default); each goes back to the normal policy while its reason lasts, and both for
 * the shutdown's commits.
 *
 * Why the apply thread: its LMDB transactions run for milliseconds, and where the event loop and
 * the clients keep every core busy, a client woken behind one waits for it (perf sched: 4.5 ms).
 * In SCHED_IDLE every other thread preempts it; it applies in the time left over, and the longer
 * it waits, the more rewrites of a key fold into one LMDB write (pipelined SETs over 1M keys
 * +10%, 90/10 pipelined +12%, bench/RESULTS.md session 41). No reply waits for an apply: replies
 * wait for commits (the log thread) at most.
 * Why the log thread under --ack=persist: every reply waits for a commit, and the event loop
 * wakes the log thread for every flusher batch; in the normal policy the woken thread preempts
 * the event loop on its core, which waits inside its postMessage (80–128 µs a batch against
 * 24–35 in SCHED_BATCH, which never preempts at wakeup: 90/10 unpipelined +14–24%, sessions 37
 * and 41). Under --ack=memory it stays normal: eased, it waited for a CPU often enough that
 * commits passed --ack=memory's 20 ms bound (1–3k held replies in 5 s of 90/10 unpipelined
 * against about 30) and p99.9 was a fifth higher, for no throughput (session 41).
 * But an eased writer waits for a CPU: with other processes busy on every core, commits fell
 * behind and a SIGTERM under load could not finish them in time (session 37), and an idle
 * thread gets next to nothing. So the log thread gets the normal policy back whenever commits
 * lag as --ack=memory judges it (the oldest uncommitted write past its 20 ms bound, or 8 MB
 * uncommitted), the apply thread whenever its applies are wanted (a wait for them, a state
 * persisted at once, a vBucket's deletion, a failing commit (a full disk: applied segments of
 * the commit log give room back), or 60 of the 64 MB of committed writes the flusher lets wait
 * for LMDB), each until that has been over for a while; both for good at shutdown.
 * Node has no call for a thread's policy, so util-linux's `chrt` sets it, run by one shell
 * started before the store opens (policy-shell.ts: a child process per call would fork this
 * process on the event loop); where `chrt` or the thread is missing, nothing changes but a
 * debug line.
 */
import { log } from './log.js';
import { PolicyShell, type ChrtFlag } from './policy-shell.js';
import type { HelperPolicy } from './settings.js';

/** How often the lag is looked at. */
const CHECK_MS = 100;
/** How long a writer's reason to be normal must have been over before it is eased again: a load
 * that lags now and then stays in the normal policy rather than switching at every lag. */
const CALM_MS = 5_000;
/** The apply thread's: once what waited is done or the backlog is under its mark, an apply
 * thread left normal would only take CPU from the event loop and the clients. */
const APPLY_CALM_MS = 1_000;

/** One writer's policy: eased (SCHED_BATCH or SCHED_IDLE) or the normal one, and the last
 * time its reason to be normal held (performance.now()). */
interface Writer {
  readonly name: string;
  /** Its place in `tids()`. */
  readonly index: number;
  readonly eased: ChrtFlag;
  /** How long its reason must have been over before it is eased again. */
  readonly calmMs: number;
  current: ChrtFlag;
  heldAt: number;
}

/** Switches the log thread between SCHED_BATCH (commits keep up) and normal (they lag) where it
 * is eased at all, and the apply thread between SCHED_IDLE and normal (the applies are wanted). */
export class WriterPolicy {
  private readonly log: Writer;
  private readonly apply: Writer = { name: 'the apply thread', index: 1, eased: '--idle', calmMs: APPLY_CALM_MS, current: '--other', heldAt: 0 };
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** The switch under way; the next waits for it (two `chrt` on one thread race). */
  private switching: Promise<void> = Promise.resolve();
  private readonly shell = new PolicyShell();
  /** `tids`: the writers' kernel thread ids, the log's then the apply's; `lagging`: whether
   * commits lag now; `applyWanted`: whether something waits for the applies or they fall far
   * behind; `switched`: told of each switch after start (stats); `easeLog`: whether the log
   * thread is eased at all (--ack=persist; see the file comment). */
  constructor(
    private readonly tids: () => readonly number[],
    private readonly lagging: () => boolean,
    private readonly applyWanted: () => boolean,
    private readonly switched: () => void = () => undefined,
    easeLog = true,
  ) {
    this.log = { name: 'the log thread', index: 0, eased: easeLog ? '--batch' : '--other', calmMs: CALM_MS, current: '--other', heldAt: 0 };
    if (process.platform === 'linux') this.shell.start();
  }

  /** The log thread's policy ('batch': SCHED_BATCH). */
  get policy(): HelperPolicy {
    return this.log.current === '--batch' ? 'batch' : 'normal';
  }

  /** The apply thread's policy ('idle': SCHED_IDLE). */
  get applyPolicy(): 'idle' | 'normal' {
    return this.apply.current === '--idle' ? 'idle' : 'normal';
  }

  start(): void {
    if (this.timer !== null || this.stopped) return;
    void this.set(this.log, this.log.eased);
    void this.set(this.apply, this.apply.eased);
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  /** Back to the normal policy for good (the shutdown's commits). */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    void this.set(this.log, '--other');
    return this.set(this.apply, '--other').then(() => this.shell.close());
  }

  private check(): void {
    const now = performance.now();
    this.judge(this.log, this.lagging(), now, 'commits lag');
    this.judge(this.apply, this.applyWanted(), now, 'applies are wanted');
  }

  /** Normal at once while `held`; eased again once it has not held for the writer's calm. */
  private judge(w: Writer, held: boolean, now: number, why: string): void {
    if (w.eased === '--other') return;
    if (held) {
      w.heldAt = now;
      if (w.current === w.eased) {
        log.debug(`${why}: ${w.name} back in the normal policy`);
        this.switched();
        void this.set(w, '--other');
      }
    } else if (w.current !== w.eased && now - w.heldAt > w.calmMs) {
      log.debug(`${w.name} eased again (${w.eased.slice(2)})`);
      this.switched();
      void this.set(w, w.eased);
    }
  }

  private set(w: Writer, flag: ChrtFlag): Promise<void> {
    if (flag === w.current) return this.switching;
    w.current = flag;
    if (process.platform !== 'linux') return this.switching;
    const tid = this.tids()[w.index] ?? 0;
    if (tid > 0) this.switching = this.switching.then(() => this.shell.chrt([[flag, tid]]));
    return this.switching;
  }
}
