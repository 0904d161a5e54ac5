/**
 * The main thread's side of the write thread (write-worker.ts, the log thread): sends
 * requests, settles each one's promise with its answer, and passes the apply thread's notices
 * on. The worker keeps the process alive only while a request is outstanding or a committed
 * batch is still to be reported applied, so an idle store never holds the event loop open.
 */
import { Worker } from 'node:worker_threads';
import { isNotice, type ApplyNotice, type WriteReply, type WriteRequest, type WriteThreadSetup } from './write-messages.js';
import { HELPER_RESOURCE_LIMITS } from './worker-limits.js';

const STARTED_POLL_MS = 5;

/** A request without its id (the thread numbers them). */
type Request = WithoutId<WriteRequest>;
type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;

/** A failed write: the write thread's error, with its code. */
export class WriteError extends Error {
  override name = 'WriteError';
  constructor(
    message: string,
    readonly code: string | number | undefined,
  ) {
    super(message);
  }
}

interface Waiter {
  /** A request other than a batch of writes. */
  other: boolean;
  resolve(reply: WriteReply): void;
  reject(err: Error): void;
}

export class WriteThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 1;
  /** Requests outstanding other than batches of writes. */
  private others = 0;
  private dead: Error | null = null;
  /** The newest committed batch, and the newest the apply thread reported in LMDB. */
  private expectedThrough = 0;
  private appliedThrough = 0;

  constructor(
    private readonly setup: WriteThreadSetup,
    private readonly noticed: (n: ApplyNotice) => void,
  ) {
    // Built as .js next to this file; under the tests' TypeScript loader this file is .ts.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    this.worker = new Worker(new URL(`./write-worker${ext}`, import.meta.url), { workerData: setup, resourceLimits: HELPER_RESOURCE_LIMITS });
    this.worker.unref();
    this.worker.on('message', (m: WriteReply | ApplyNotice) => {
      if (!isNotice(m)) return this.answered(m);
      this.appliedThrough = Math.max(this.appliedThrough, m.applied);
      this.updateRef();
      this.noticed(m);
    });
    this.worker.on('error', (err) => this.died(err));
    this.worker.on('exit', (code) => this.died(new Error(`write thread exited (code ${code})`)));
  }

  /** The kernel ids of the log and apply threads (0 until started, or where there is no
   * /proc). */
  get threadIds(): number[] {
    return [Atomics.load(this.setup.threadIds, 0), Atomics.load(this.setup.threadIds, 1)];
  }

  /** Resolves true once both threads have started, false after `timeoutMs` if they have not.
   * Polled: a startup step, and ES2022's Atomics has no waitAsync. */
  async started(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Atomics.load(this.setup.started, 0) < 2) {
      if (this.dead !== null || Date.now() >= until) return false;
      await new Promise((resolve) => setTimeout(resolve, STARTED_POLL_MS));
    }
    return true;
  }

  /** Sends a request; settles with the answer when the write thread has done it. */
  send(req: Request): Promise<WriteReply> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const other = req.op !== 'batch';
    if (other) this.others++;
    return new Promise<WriteReply>((resolve, reject) => {
      this.waiting.set(id, { other, resolve, reject });
      this.updateRef();
      this.worker.postMessage({ ...req, id });
    });
  }

  /** Requests outstanding other than batches of writes (a state persisted at once, a vBucket's
   * deletion, a wait for the applies). */
  get othersWaiting(): number {
    return this.others;
  }

  /** Batch `batch` is committed: the worker stays referenced until it is reported applied. */
  expectApplied(batch: number): void {
    this.expectedThrough = Math.max(this.expectedThrough, batch);
    this.updateRef();
  }

  private updateRef(): void {
    if (this.dead === null && (this.waiting.size > 0 || this.expectedThrough > this.appliedThrough)) this.worker.ref();
    else this.worker.unref();
  }

  /** Asks the thread to close the environment and waits for it to end by itself: terminating
   * it while its apply thread still ran sometimes hung in lmdb-js's cleanup. Terminated only
   * if it has not ended 5 s after answering (or after a failed close). */
  async close(): Promise<void> {
    if (this.dead) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    let closed = false;
    try {
      await this.send({ op: 'close' });
      closed = true;
    } finally {
      this.dead = new Error('store closed');
      this.worker.ref();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), closed ? 5000 : 0)));
      if ((await Promise.race([exited, late])) === 'late') await this.worker.terminate();
      clearTimeout(timer);
    }
  }

  private answered(reply: WriteReply): void {
    const w = this.waiting.get(reply.id);
    if (w === undefined) return;
    this.waiting.delete(reply.id);
    if (w.other) this.others--;
    this.updateRef();
    if (reply.error === null) w.resolve(reply);
    else w.reject(new WriteError(reply.error, reply.code));
  }

  /** The thread is gone: nothing more can be written. Outstanding requests fail, and so does
   * every later one (the flusher logs each failure, keeps the writes in memory and refuses new
   * ones). */
  private died(err: Error): void {
    if (this.dead) return;
    this.dead = new WriteError(`LMDB write thread: ${err.message}`, undefined);
    for (const w of this.waiting.values()) w.reject(this.dead);
    this.waiting.clear();
    this.others = 0;
  }
}
