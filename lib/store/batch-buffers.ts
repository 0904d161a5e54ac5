/**
 * Shared buffers for flusher batches (write-batch-codec.ts), reused from one batch to the next.
 * A new ArrayBuffer per batch (hundreds of KiB under load) was zero-filled, page-faulted in
 * and unmapped again every commit; a SharedArrayBuffer reaches the write thread without a copy
 * or a transfer, so the main thread takes it back once the write thread has answered.
 */
/** The smallest buffer made, and the largest one kept for reuse: a batch held to about 8 MB of
 * uncommitted writes by --ack=memory's back pressure fits; a burst's giant batch is not held
 * on to, so at most 2 × 16 MiB stays allocated. */
const MIN_BYTES = 64 * 1024;
export const MAX_KEPT_BYTES = 16 * 1024 * 1024;
/** The flusher has one batch in flight; one spare covers a batch encoded while another
 * commits (a retry). */
const MAX_KEPT = 2;

export class BatchBuffers {
  private free: SharedArrayBuffer[] = [];

  /** A buffer of at least `bytes` bytes, owned by the caller until `give`. Its content is
   * whatever the last batch left there. */
  take(bytes: number): SharedArrayBuffer {
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.byteLength >= bytes) {
        this.free.splice(i, 1);
        return b;
      }
    }
    let size = MIN_BYTES;
    while (size < bytes) size *= 2;
    return new SharedArrayBuffer(size);
  }

  /** The write thread is done with `b`: it may serve a later batch. */
  give(b: SharedArrayBuffer): void {
    if (b.byteLength > MAX_KEPT_BYTES) return;
    this.free.push(b);
    if (this.free.length > MAX_KEPT) {
      // Keep the largest: they serve every smaller batch too.
      this.free.sort((x, y) => y.byteLength - x.byteLength);
      this.free.length = MAX_KEPT;
    }
  }
}
