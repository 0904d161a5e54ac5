/**
 * The flusher: moves pending writes to disk in batches, one at a time, so a burst of writes
 * becomes one commit (group commit). Each batch also writes the state of every vBucket it
 * touches, with the batch's high seqno, so disk never holds a seqno its vBucket state does not
 * cover. Batch numbers let a connection in --ack=persist mode wait for exactly the commit that
 * holds its write.
 *
 * A batch is *committed* once the store has it in its commit log, synced: acknowledgements and
 * the persisted seqno follow that, and its writes leave the vBucket's pending list (what the
 * hooks keep of them until the apply is theirs: CommittedWrites). It is *applied* once it is in
 * LMDB, where reads and DCP backfills find it: only then may its resident entries be ejected.
 */
import type { Store } from '../store/store.js';
import type { PendingWrite, VBucket } from './vbucket.js';
import { VBStateProgressTracker, type BatchStates } from './vbstate-progress.js';
import { log } from '../log.js';
import type { CommitListener, CommitWatch } from './commit-watch.js';
import { CommitTimes } from './commit-times.js';
import type { DiskErrors, FlusherHooks, FlusherPacing } from './flusher-hooks.js';
import { emptied } from './kept-arrays.js';

export type { FlusherPacing } from './flusher-hooks.js';

/** Back-off between attempts to commit a batch that failed (disk full, I/O error). */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

interface FailedBatch {
  batch: number;
  writes: PendingWrite[];
  /** The stamp of its last write, and whether it holds purges (see `fold`). */
  lastStamp: number;
  purges: boolean;
  meta: Map<string, unknown>;
}

/** A committed batch waiting to be applied: its numbers (ours, the store's) and what it held. */
interface UnappliedBatch<Unapplied> {
  batch: number;
  storeBatch: number;
  kept: Unapplied;
  highSeqnos: Map<VBucket, number>;
  bytes: number;
}

/** Committed batches not yet applied, beyond which no new batch starts until LMDB catches up
 * (their writes are held in memory meanwhile; --ack=memory's back pressure follows). 64 MB (was
 * 16): under SETs over a million resident keys one LMDB transaction takes up to ~150 ms, and 16 MB
 * stopped the flusher for 15% of the time, held replies and set p99.9 at 33-110 ms
 * (bench/RESULTS.md, session 39). */
export const MAX_UNAPPLIED_BYTES = 64 * 1024 * 1024;
/** Unapplied bytes from which the apply thread gets the normal policy back: nearly the bound. */
const APPLY_WANTED_BYTES = MAX_UNAPPLIED_BYTES - 4 * 1024 * 1024;

export class Flusher<Unapplied> implements CommitWatch {
  /** The open batch: `queued` writes at the front of `queue`, whose array is kept and refilled
   * (a new one grown each batch cost a SET eight bytes); `spare` is the last batch's, emptied. */
  private queue: PendingWrite[] = [];
  private queued = 0;
  private spare: PendingWrite[] = [];
  /** fold's output array, kept likewise. */
  private folded: PendingWrite[] = [];
  /** The batch being committed (null: none). */
  private inFlight: PendingWrite[] | null = null;
  /** The open batch's last write stamp, and whether it holds a purge. */
  private queueLastStamp = 0;
  private queuePurges = false;
  /** Numbers the runs, to mark the vBuckets a run has seen (VBucket.flushRun). */
  private runs = 0;
  private meta = new Map<string, unknown>();
  private running = false;
  private scheduled = false;
  private readonly runNow = (): void => this.run();
  private idleWaiters: Array<() => void> = [];
  private readonly listeners = new Set<CommitListener>();
  private lastStart = 0;
  /** The batch that writes enqueued now will be part of. */
  private openBatch = 1;
  /** A batch whose commit failed, tried again (alone, same number) until it commits. */
  private failedBatch: FailedBatch | null = null;
  private retryDelay = RETRY_FIRST_MS;
  private unapplied: Array<UnappliedBatch<Unapplied>> = [];
  private hurrying = false;
  /** Every batch up to and including this one is applied. */
  private appliedBatch = 0;
  private appliedWaiters: Array<{ batch: number; resolve: () => void }> = [];
  private unappliedBytes = 0;
  /** Every batch up to and including this one is committed. */
  committedBatch = 0;
  unpersistedBytes = 0;
  /** When the first write of the batch being committed (or retried), and of the open batch,
   * was issued (0: none). */
  private takenSince = 0;
  private openSince = 0;
  readonly errors: DiskErrors = { count: 0, lastAt: 0, last: '' };
  readonly commitTimes = new CommitTimes();
  private readonly vbstates = new VBStateProgressTracker();

  constructor(
    private readonly store: Store,
    private readonly hooks: FlusherHooks<Unapplied>,
    private readonly pacing: FlusherPacing = { intervalMs: 0, holdMs: 0 },
  ) {
    store.onApplied((through) => this.applied(through));
  }

  /** True while a failed batch waits to be committed: new writes must be refused (they
   * could not be persisted), while those already acknowledged stay readable in memory. */
  get blocked(): boolean {
    return this.failedBatch !== null;
  }

  /** Queues a write; returns the batch number that will commit it. */
  enqueue(write: PendingWrite): number {
    if (write.record === null) this.queuePurges = true;
    else this.queueLastStamp = write.stamp;
    this.unpersistedBytes += writeBytes(write);
    if (this.queued === 0) this.openSince = performance.now();
    this.queue[this.queued++] = write;
    this.schedule();
    return this.openBatch;
  }

  /** Queues a metadata update to commit with the next batch. */
  setMeta(name: string, value: unknown): number {
    this.meta.set(name, value);
    this.schedule();
    return this.openBatch;
  }

  get oldestUnpersistedAt(): number {
    return this.takenSince !== 0 ? this.takenSince : this.queued > 0 ? this.openSince : 0;
  }

  /** Committed batches not yet applied (in LMDB), and their writes' bytes. */
  get unappliedBatches(): number {
    return this.unapplied.length;
  }

  get unappliedBytesNow(): number {
    return this.unappliedBytes;
  }

  /** Whether something waits for the applies (idle(), appliedSoFar(), a store request), they
   * near MAX_UNAPPLIED_BYTES, where commits would stop, or commits fail (a full disk: applied
   * segments of the commit log are what gives room back): the apply thread must not wait for
   * an idle CPU then (writer-thread-policy.ts). */
  get applyWanted(): boolean {
    return this.failedBatch !== null || this.idleWaiters.length > 0 || this.appliedWaiters.length > 0 || this.unappliedBytes > APPLY_WANTED_BYTES || this.store.requestsWaiting();
  }

  /** What the hooks kept of each committed batch not yet applied, oldest first. */
  *unappliedKept(): Generator<Unapplied> {
    for (const b of this.unapplied) yield b.kept;
  }

  /** Calls `fn` on every write not yet committed: queued, being committed or failed. */
  forEachUncommitted(fn: (w: PendingWrite) => void): void {
    for (let i = 0; i < this.queued; i++) fn(this.queue[i]);
    if (this.inFlight !== null) for (const w of this.inFlight) fn(w);
    if (this.failedBatch !== null) for (const w of this.failedBatch.writes) fn(w);
  }

  get backlog(): number {
    return this.queued + (this.failedBatch?.writes.length ?? 0);
  }

  onCommit(listener: CommitListener): void {
    this.listeners.add(listener);
  }

  offCommit(listener: CommitListener): void {
    this.listeners.delete(listener);
  }

  /** Resolves once every write queued so far is applied (in LMDB), however many follow (idle()
   * waits for those too). */
  appliedSoFar(): Promise<void> {
    const target = this.queued > 0 || this.meta.size > 0 ? this.openBatch : this.openBatch - 1;
    if (this.appliedBatch >= target) return Promise.resolve();
    const wait = new Promise<void>((resolve) => this.appliedWaiters.push({ batch: target, resolve }));
    this.hurryApply();
    return wait;
  }

  /** Resolves once everything queued before the call is committed and applied. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    const wait = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.hurryApply();
    return wait;
  }

  /** Someone waits for idle (or for an apply) and only applying is left, or what is left waits
   * behind MAX_UNAPPLIED_BYTES for LMDB: ask the store to apply now, whatever its pace (a test
   * hook may hold applies back; a failing disk keeps its own retries). */
  private hurryApply(): void {
    if (this.hurrying || (this.idleWaiters.length === 0 && this.appliedWaiters.length === 0) || this.unapplied.length === 0 || this.running) return;
    if (this.queued > 0 && this.unappliedBytes <= MAX_UNAPPLIED_BYTES) return;
    this.hurrying = true;
    this.store.flushed().then(
      () => (this.hurrying = false),
      () => (this.hurrying = false),
    );
  }

  private isIdle(): boolean {
    return !this.running && this.failedBatch === null && this.queued === 0 && this.meta.size === 0 && this.unapplied.length === 0;
  }

  private schedule(): void {
    // While a batch is failing, its retry timer drives the flusher; while LMDB is far behind,
    // its applied notices do.
    if (this.running || this.scheduled || this.failedBatch !== null || this.unappliedBytes > MAX_UNAPPLIED_BYTES) return;
    this.scheduled = true;
    const wait = Math.max(this.pacing.holdMs, this.lastStart + this.pacing.intervalMs - Date.now());
    if (wait > 0) setTimeout(this.runNow, wait);
    else setImmediate(this.runNow);
  }

  private run(): void {
    this.scheduled = false;
    if (this.running) return;
    const retry = this.failedBatch;
    if (retry === null && this.queued === 0 && this.meta.size === 0) {
      if (this.isIdle()) this.wakeIdle();
      return;
    }
    // The test hook's hold counts from the open batch's first write, not from whatever
    // scheduled the timer (a metadata update long before). holdMs is 0 in production.
    const held = this.pacing.holdMs > 0 && retry === null && this.queued > 0 ? this.openSince + this.pacing.holdMs - performance.now() : 0;
    if (held > 0) {
      this.scheduled = true;
      setTimeout(() => this.run(), held);
      return;
    }
    this.running = true;
    this.lastStart = Date.now();
    let batch: number;
    let taken: PendingWrite[];
    let meta: Map<string, unknown>;
    let lastStamp: number;
    let purges: boolean;
    if (retry !== null) {
      ({ batch, writes: taken, meta, lastStamp, purges } = retry);
    } else {
      batch = this.openBatch++;
      taken = this.queue;
      taken.length = this.queued;
      this.queue = this.spare;
      this.spare = [];
      this.queued = 0;
      lastStamp = this.queueLastStamp;
      purges = this.queuePurges;
      this.queuePurges = false;
      this.takenSince = this.openSince;
      meta = this.meta;
      this.meta = new Map();
    }
    this.inFlight = taken;
    for (const [k, v] of this.hooks.meta()) if (!meta.has(k)) meta.set(k, v);
    const { writes, highSeqnos } = this.fold(taken, lastStamp, purges);
    const states = this.vbstates.build(highSeqnos, this.hooks.maxCas());
    let attempt: Promise<number>;
    this.commitTimes.start();
    try {
      attempt = this.store.writeBatch(writes, states.full, meta, states.progress, this.hooks.keys);
    } catch (err) {
      attempt = Promise.reject(err);
    }
    this.folded = emptied(writes); // encoded: the store keeps none of them
    attempt.then(
      (storeBatch) => this.committed(batch, taken, highSeqnos, states, storeBatch),
      (err: unknown) => this.commitFailed({ batch, writes: taken, meta, lastStamp, purges }, err),
    );
  }

  /**
   * The writes a batch stores, and the high seqno it holds per vBucket. Within a batch only the
   * newest write of a key matters (newest first). A newer write in a later batch must not
   * suppress one, or a crash between the two commits would lose an ack: the resident table's
   * stamps tell a write superseded within the batch (hooks.supersededBy). A batch with purges
   * folds by key strings instead, since a purge has no entry: a purge before a newer write of
   * its key is not needed either.
   */
  private fold(taken: readonly PendingWrite[], lastStamp: number, purges: boolean): { writes: PendingWrite[]; highSeqnos: Map<VBucket, number> } {
    const writes = this.folded;
    let n = 0;
    const touched: VBucket[] = [];
    const run = ++this.runs;
    const newest = purges ? new Set<string>() : null;
    for (let i = taken.length - 1; i >= 0; i--) {
      const w = taken[i];
      const vb = w.vb;
      if (vb.deleted) continue;
      // A purge removes an old tombstone: it issues no seqno, but its vBucket's state (purge
      // seqno) is written with the batch.
      const high = w.record === null ? vb.persistedHighSeqno : w.seqno;
      if (vb.flushRun !== run) {
        vb.flushRun = run;
        vb.flushHigh = high;
        touched.push(vb);
      } else if (high > vb.flushHigh) {
        vb.flushHigh = high;
      }
      if (newest !== null) {
        const key = this.hooks.keyString(w);
        if (newest.has(key)) continue;
        if (w.record !== null) newest.add(key);
      } else if (this.hooks.supersededBy(w, lastStamp)) {
        continue;
      }
      // The pending write is the store's item write (prevSeqno -1: the apply thread reads what
      // LMDB holds inside its transaction): no copy of it per batch.
      writes[n++] = w;
    }
    writes.length = n;
    writes.reverse();
    const highSeqnos = new Map<VBucket, number>();
    for (const vb of touched) highSeqnos.set(vb, vb.flushHigh);
    return { writes, highSeqnos };
  }

  private committed(batch: number, taken: PendingWrite[], highSeqnos: Map<VBucket, number>, states: BatchStates, storeBatch: number): void {
    this.inFlight = null;
    this.commitTimes.committed();
    this.vbstates.committed(states);
    if (this.failedBatch !== null) {
      log.warn(`flusher: batch ${batch} committed after ${this.errors.count} failed commits so far; writes accepted again`);
      this.failedBatch = null;
      this.retryDelay = RETRY_FIRST_MS;
    }
    let bytes = 0;
    for (const w of taken) {
      bytes += writeBytes(w);
      if (w.record !== null) w.vb.pending.committed(w);
    }
    this.unpersistedBytes -= bytes;
    this.committedBatch = batch;
    this.takenSince = 0;
    this.running = false;
    this.unapplied.push({ batch, storeBatch, kept: this.hooks.committed(highSeqnos, taken), highSeqnos, bytes });
    this.spare = emptied(taken);
    this.unappliedBytes += bytes;
    for (const l of this.listeners) l(batch);
    if (this.queued > 0 || this.meta.size > 0) this.schedule();
    else this.hurryApply();
  }

  /** The store's batches up to `through` are in LMDB: reads there see them, and their writes
   * leave memory. */
  private applied(through: number): void {
    if (this.unapplied.length === 0 || this.unapplied[0].storeBatch > through) return;
    this.store.refreshReads();
    while (this.unapplied.length > 0 && this.unapplied[0].storeBatch <= through) {
      const b = this.unapplied.shift() as UnappliedBatch<Unapplied>;
      this.unappliedBytes -= b.bytes;
      this.hooks.applied(b.kept, b.highSeqnos);
      this.appliedBatch = b.batch;
    }
    if (this.appliedWaiters.length > 0) {
      const ready = this.appliedWaiters.filter((w) => w.batch <= this.appliedBatch);
      this.appliedWaiters = this.appliedWaiters.filter((w) => w.batch > this.appliedBatch);
      for (const w of ready) w.resolve();
    }
    if (this.queued > 0 || this.meta.size > 0) this.schedule();
    else if (this.isIdle()) this.wakeIdle();
  }

  /** Keeps the batch's writes in memory (reads stay right, nothing is acknowledged as
   * persisted) and tries the same batch again after a back-off; writes are refused meanwhile. */
  private commitFailed(failed: FailedBatch, err: unknown): void {
    const first = this.failedBatch === null;
    this.inFlight = null;
    this.failedBatch = failed;
    this.running = false;
    this.errors.count++;
    this.errors.lastAt = Date.now();
    this.errors.last = err instanceof Error ? err.message : String(err);
    if (first) log.error(`flusher: commit of batch ${failed.batch} failed (${this.errors.last}); refusing writes, retrying`);
    else log.debug(`flusher: batch ${failed.batch} failed again (${this.errors.last}); next try in ${this.retryDelay} ms`);
    setTimeout(() => this.run(), this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

function writeBytes(w: PendingWrite): number {
  return w.keyLength + (w.record === null ? 0 : w.recordLength);
}
