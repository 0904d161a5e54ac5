/**
 * What the main thread and the write thread (write-worker.ts) say to each other. Every request
 * is answered once, in the order sent; the write thread runs one request at a time, so commits
 * happen in the order the main thread asked for them.
 */
import type { VBStateRecord } from './store.js';

export interface WriteThreadSetup {
  path: string;
  mapSize: number;
}

export type WriteRequest =
  /** One flusher batch (write-batch-codec.ts: `count` writes in the first `bytes` bytes of
   * `buffer`) with the vBucket states and metadata it carries, in one transaction. */
  | { op: 'batch'; id: number; buffer: SharedArrayBuffer; bytes: number; count: number; vbstates: Array<[number, VBStateRecord]>; meta: Array<[string, unknown]> }
  /** vBucket states (and metadata) in one transaction, answered once it is also synced. */
  | { op: 'persist'; id: number; vbstates: Array<[number, VBStateRecord]>; meta: Array<[string, unknown]> }
  /** Removes one vBucket's items, seqno index and state, in chunked transactions. */
  | { op: 'deleteVBucket'; id: number; vbid: number }
  /** Answered once everything committed so far is synced. */
  | { op: 'flushed'; id: number }
  | { op: 'close'; id: number };

/** `error` is null on success; else the failure's message and its code (errno or LMDB's). */
export interface WriteReply {
  id: number;
  error: string | null;
  code?: string | number;
}
