/**
 * What the main thread, the log thread (write-worker.ts) and the apply thread (apply-worker.ts)
 * say to each other. The main thread talks to the log thread only. Every request is answered
 * once; requests are carried out in the order sent, so commits happen in the order the main
 * thread asked for them. A batch is answered once its frame is in the commit log and synced;
 * the apply thread writes it to LMDB later, and `applied` notices say how far it has got.
 */
import type { ReplayReport, VBStateProgress, VBStateRecord } from './store.js';

export interface WriteThreadSetup {
  path: string;
  mapSize: number;
  /** A test hook: committed batches wait this long before the apply thread commits them (0 in
   * production: as soon as the thread is free). */
  applyHoldMs: number;
  /** A test hook: each synced batch is answered this much later (0 in production: at once). */
  commitReplyDelayMs: number;
  /** Two slots over shared memory: the log thread and the apply thread write their kernel
   * thread ids there at start (--helper-nice leaves them alone). */
  threadIds: Int32Array;
  /** One slot over shared memory: each of the two threads adds one as its first step, when its
   * V8 isolate exists (young-generation-cap.ts re-applies its limit after that). */
  started: Int32Array;
}

export interface ApplyThreadSetup extends WriteThreadSetup {
  /** The commit-log segments found at start, oldest first: replayed before anything else. */
  segments: number[];
}

export type WriteRequest =
  /** One flusher batch (write-batch-codec.ts: `count` writes in the first `bytes` bytes of
   * `buffer`) with the vBucket states (full, and progress) and metadata it carries, as one
   * frame; `batch` is the store's number for it (applied notices count in it). */
  | { op: 'batch'; id: number; batch: number; buffer: SharedArrayBuffer; bytes: number; count: number; vbstates: Array<[number, VBStateRecord]>; progress: VBStateProgress | null; meta: Array<[string, unknown]> }
  /** vBucket states (and metadata) in one transaction after every batch before them, answered
   * once it is also synced. */
  | { op: 'persist'; id: number; vbstates: Array<[number, VBStateRecord]>; meta: Array<[string, unknown]> }
  /** Removes one vBucket's items, seqno index and state, in chunked transactions. */
  | { op: 'deleteVBucket'; id: number; vbid: number }
  /** Answered once every batch sent before it is in LMDB and synced. */
  | { op: 'flushed'; id: number }
  /** Answered with what replaying the commit log found at start (warmup's first step). */
  | { op: 'replay'; id: number }
  | { op: 'close'; id: number };

/** `error` is null on success; else the failure's message and its code (errno or LMDB's). */
export interface WriteReply {
  id: number;
  error: string | null;
  code?: string | number;
  replay?: ReplayReport;
}

/** Sent by the apply thread (and passed on by the log thread) after each LMDB commit: every
 * batch numbered up to `applied` is in LMDB; `applyError` is set while commits there fail. */
export interface ApplyNotice {
  applied: number;
  applyError: { message: string; code?: string | number } | null;
}

/** From the log thread to the apply thread. */
export type ApplyMessage =
  /** A logged batch, synced: its frame's payload (log-frame.ts), `length` bytes at byte `at` of
   * segment `segment`, where the apply thread reads it back (frame-reader.ts); the batch's
   * number and write count. */
  | { op: 'frame'; segment: number; at: number; length: number; batch: number; count: number }
  /** Segment `segment` takes no more frames; its last batch is `lastBatch` (0: none). */
  | { op: 'closed'; segment: number; lastBatch: number }
  | Exclude<WriteRequest, { op: 'batch' }>;

export function isNotice(m: WriteReply | ApplyNotice): m is ApplyNotice {
  return (m as ApplyNotice).applied !== undefined;
}
