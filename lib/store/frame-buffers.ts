/**
 * The log thread's buffers for commit-log frames, given back by the apply thread once LMDB has
 * them (transferred, so only one thread holds a buffer at a time).
 *
 * Why: a new ArrayBuffer per frame was allocated in the log thread's malloc arena and freed
 * only when the apply thread's isolate next collected its garbage, which an idle thread may not
 * do for minutes: after 1M SETs, 45 MB of dead frames were still allocated, and the arena they
 * churned through (175 MB of frames) kept about 79 MB of the process's memory for good, since
 * glibc returns a thread arena's free memory only from its top (bench:memory).
 * A buffer the pool refuses is garbage in this thread's isolate, which allocates little else and
 * so rarely collects: V8 counts the buffers' memory and collects only once tens of MB are held.
 * So every COLLECT_AFTER_BYTES of refused buffers the young generation (where they still are:
 * they lived milliseconds) is collected at once; a scavenge of this small heap is cheap.
 * After a load of 1M SETs that left about 11 MB less anonymous memory (bench/RESULTS.md,
 * session 25).
 */
const MIN_BYTES = 64 * 1024;
/** Buffers larger than this (a burst's giant batch) are not kept. */
const MAX_KEPT_BYTES = 16 * 1024 * 1024;
/** What the pool holds at most: about what the apply thread takes in one commit under load
 * (apply-worker.ts applies at 4 MB pending), twice. */
const MAX_POOL_BYTES = 8 * 1024 * 1024;
/** Bytes of refused buffers after which the young generation is collected. */
const COLLECT_AFTER_BYTES = 8 * 1024 * 1024;

export class FrameBuffers {
  /** Per power-of-two size class (log2 of the size): free buffers. */
  private readonly free: ArrayBuffer[][] = [];
  private pooledBytes = 0;
  /** Bytes refused since the last collection. */
  private refusedBytes = 0;

  /** `collectYoung`: collects this thread's young generation (exposed-gc.ts); null: never. */
  constructor(private readonly collectYoung: (() => void) | null = null) {}

  /** A buffer of at least `bytes` bytes (a power of two, at least MIN_BYTES), owned by the
   * caller; its content is whatever an earlier frame left there. */
  take(bytes: number): ArrayBuffer {
    let size = MIN_BYTES;
    while (size < bytes) size *= 2;
    const list = this.free[Math.log2(size)];
    const b = list?.pop();
    if (b !== undefined) {
      this.pooledBytes -= b.byteLength;
      return b;
    }
    return new ArrayBuffer(size);
  }

  /** A buffer the apply thread is done with; kept for a later frame of its size class while
   * the pool has room, else left to the garbage collector, called every COLLECT_AFTER_BYTES. */
  give(b: ArrayBuffer): void {
    const size = b.byteLength;
    // Only the pool's own sizes come back; anything else (detached: 0) is not reusable.
    if (size < MIN_BYTES || size > MAX_KEPT_BYTES || (size & (size - 1)) !== 0 || this.pooledBytes + size > MAX_POOL_BYTES) {
      this.refused(size);
      return;
    }
    (this.free[Math.log2(size)] ??= []).push(b);
    this.pooledBytes += size;
  }

  private refused(size: number): void {
    this.refusedBytes += size;
    if (this.refusedBytes < COLLECT_AFTER_BYTES || this.collectYoung === null) return;
    this.refusedBytes = 0;
    this.collectYoung();
  }

  /** Bytes held for reuse. */
  get bytes(): number {
    return this.pooledBytes;
  }
}
