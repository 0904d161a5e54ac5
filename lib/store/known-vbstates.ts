/**
 * The apply thread's copy of the vBucket states LMDB holds, as it last wrote them (read from
 * LMDB on first use), and the completion of a frame's progress rows (store.ts,
 * VBStateProgress) into full states from it.
 */
import { PROGRESS_ROW, type VBStateProgress, type VBStateRecord } from './store.js';

export class KnownVBStates {
  private readonly known = new Map<number, VBStateRecord>();

  /** `read`: LMDB's state of a vBucket. */
  constructor(private readonly read: (vbid: number) => VBStateRecord | undefined) {}

  /** States written to LMDB (committed). */
  wrote(states: Iterable<readonly [number, VBStateRecord]>): void {
    for (const [vbid, state] of states) this.known.set(vbid, state);
  }

  /** `state`, to be persisted at once, unless LMDB holds a seqno above its high seqno
   * (`newest`): then with LMDB's high seqno and snapshot. Such a state was built on the main
   * thread from the vBucket's persisted high seqno while a batch of the vBucket was on its way,
   * and that batch is in LMDB by now; written as it was, the state would make warmup after a
   * crash issue those seqnos again. A rollback lowers the high seqno only once LMDB holds
   * nothing above it, so it is written as asked. */
  notBelow(vbid: number, state: VBStateRecord, newest: number): VBStateRecord {
    if (state.highSeqno >= newest) return state;
    const known = this.stored(vbid);
    const high = Math.max(newest, known?.highSeqno ?? 0);
    const snapshot = known !== undefined && known.highSeqno === high ? known : { snapStart: high, snapEnd: high };
    return { ...state, highSeqno: high, snapStart: snapshot.snapStart, snapEnd: snapshot.snapEnd, maxCas: Math.max(state.maxCas, known?.maxCas ?? 0) };
  }

  deleted(vbid: number): void {
    this.known.delete(vbid);
  }

  /** Adds to `states` (the newest of the frames before, by vbid) the full states `progress`
   * makes: the vBucket's newest state, there or in LMDB, with the rows' fields. A vBucket
   * without one is skipped: the main thread sends a full record first, so none is missing
   * unless the vBucket was deleted since. */
  complete(states: Map<number, VBStateRecord>, progress: VBStateProgress): void {
    const rows = progress.rows;
    for (let i = 0; i < rows.length; i += PROGRESS_ROW) {
      const vbid = rows[i];
      const base = states.get(vbid) ?? this.stored(vbid);
      if (base === undefined) continue;
      states.set(vbid, { ...base, highSeqno: rows[i + 1], snapStart: rows[i + 2], snapEnd: rows[i + 3], maxCas: progress.maxCas });
    }
  }

  private stored(vbid: number): VBStateRecord | undefined {
    let state = this.known.get(vbid);
    if (state === undefined) {
      state = this.read(vbid);
      if (state !== undefined) this.known.set(vbid, state);
    }
    return state;
  }
}
