/**
 * A vBucket: its state, its sequence-number counter and the items written in memory but not
 * yet committed to LMDB (read before LMDB, so reads see every acknowledged write).
 */

export const VBucketState = {
  Active: 1,
  Replica: 2,
  Pending: 3,
  Dead: 4,
} as const;
export type VBucketState = (typeof VBucketState)[keyof typeof VBucketState];

/** A write waiting for (or inside) a flusher batch. */
export interface PendingWrite {
  vb: VBucket;
  /** Key bytes as a latin1 string: a cheap exact map key for arbitrary bytes. */
  mapKey: string;
  /** vbid (u16 BE) + key: the LMDB key. */
  storeKey: Buffer;
  record: Buffer;
  /** Flusher batch that will write it. */
  batch: number;
}

export class VBucket {
  state: VBucketState = VBucketState.Active;
  highSeqno = 0;
  readonly pending = new Map<string, PendingWrite>();

  constructor(readonly id: number) {}

  nextSeqno(): number {
    return ++this.highSeqno;
  }
}
