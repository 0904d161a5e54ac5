/**
 * What a connection waiting to acknowledge writes sees of the flusher (flusher.ts): which
 * batch is committed, how much is not, and a notice per commit.
 */
export type CommitListener = (committedBatch: number) => void;

/** What a connection waiting to acknowledge writes (--ack=persist) sees of the flusher. */
export interface CommitWatch {
  /** Every batch up to and including this one is committed. */
  readonly committedBatch: number;
  /** Bytes of writes issued and not yet committed (keys and records). */
  readonly unpersistedBytes: number;
  /** True while commits fail (disk full, I/O errors) and are retried. */
  readonly blocked: boolean;
  /** When (performance.now()) the oldest write not yet committed was issued; 0 for none. */
  readonly oldestUnpersistedAt: number;
  /** Whether something waits for the applies to LMDB, or they fall behind. */
  readonly applyWanted: boolean;
  onCommit(listener: CommitListener): void;
  offCommit(listener: CommitListener): void;
}
