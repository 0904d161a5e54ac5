/**
 * Which vBucket states a flusher batch carries in full and which as progress (store.ts,
 * VBStateProgress). Under load a batch touches most vBuckets, and a full record for each,
 * failover table and all, cost the main thread, the commit log and LMDB more than the batch's
 * writes did; but between two failovers or state changes only the high seqno, the snapshot
 * range and the max CAS move. A vBucket whose other fields are as in the last full record a
 * committed batch carried goes as one row of numbers.
 *
 * Noted only when the batch commits: a batch whose commit failed is built again for its retry,
 * and the store never got its full records. A state persisted outside the flusher
 * (persistVBStatesNow) changes one of the compared fields, or leaves the store's record with
 * the same ones, so progress rows always complete the right record.
 */
import { PROGRESS_ROW, type VBStateProgress, type VBStateRecord } from '../store/store.js';
import type { FailoverTable } from './failover-table.js';
import type { VBucket } from './vbucket.js';

/** What a full record holds besides the progress fields. */
interface Stable {
  state: number;
  purgeSeqno: number;
  maxDeletedRevSeqno: number;
  /** Replaced, never changed in place, whenever the table on disk changes. */
  failovers: FailoverTable;
}

export interface BatchStates {
  full: Map<number, VBStateRecord>;
  progress: VBStateProgress;
  /** The full records' stable fields, the store's once the batch commits. */
  sent: Array<[VBucket, Stable]>;
}

export class VBStateProgressTracker {
  private readonly stored = new WeakMap<VBucket, Stable>();

  /** The states of a batch holding seqnos up to `highSeqnos` per vBucket. */
  build(highSeqnos: ReadonlyMap<VBucket, number>, maxCas: number): BatchStates {
    const rows = new Float64Array(highSeqnos.size * PROGRESS_ROW);
    let n = 0;
    const states: BatchStates = { full: new Map(), progress: { rows, maxCas }, sent: [] };
    for (const [vb, high] of highSeqnos) {
      const stored = this.stored.get(vb);
      if (stored !== undefined && unchanged(stored, vb)) {
        const snap = vb.snapshotAt(high);
        rows[n] = vb.id;
        rows[n + 1] = high;
        rows[n + 2] = snap.start;
        rows[n + 3] = snap.end;
        n += PROGRESS_ROW;
      } else {
        states.full.set(vb.id, { ...vb.toRecord(maxCas), highSeqno: high, ...vb.snapshotRange(high) });
        states.sent.push([vb, stable(vb)]);
      }
    }
    // A copy, not a view: a posted view takes its whole buffer along.
    if (n < rows.length) states.progress.rows = rows.slice(0, n);
    return states;
  }

  /** The batch holding `states` committed: its full records are the store's. */
  committed(states: BatchStates): void {
    for (const [vb, s] of states.sent) this.stored.set(vb, s);
  }
}

function stable(vb: VBucket): Stable {
  return { state: vb.state, purgeSeqno: vb.purgeSeqno, maxDeletedRevSeqno: vb.maxDeletedRevSeqno, failovers: vb.failoversOnDisk };
}

function unchanged(s: Stable, vb: VBucket): boolean {
  return s.state === vb.state && s.purgeSeqno === vb.purgeSeqno && s.maxDeletedRevSeqno === vb.maxDeletedRevSeqno && s.failovers === vb.failoversOnDisk;
}
