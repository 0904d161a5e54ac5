/**
 * Seqno-index entries of overwritten items, removed later and in seqno order (the apply
 * thread's share of kv_engine's model, where the seqno index is cleaned by compaction, not by
 * each write).
 *
 * Removing a key's old entry as the key is written dirties a random leaf page of the index per
 * write, the apply thread's largest cost under overwrites (bench/RESULTS.md). Collected and
 * removed in order, many removals share one page. Until then the index holds entries whose
 * item has moved on to a newer seqno; readers skip them (ItemStorage.committedBySeqno), as
 * they would skip any entry whose item has another seqno.
 *
 * Entries are kept as numbers, vbid * 2^43 + seqno: exact (below 2^53) and ordered as the
 * seqno keys are (vbid, then seqno). A seqno from 2^43 on is removed at once instead.
 */
import { checkRoom } from './disk-room.js';
import { encodeSeqnoKey } from './key-codec.js';
import type { LmdbDatabases } from './lmdb-databases.js';

const SEQNO_SPAN = 2 ** 43;
/** Removals go in transactions of at most this many, each one ordered run of the index. */
export const STALE_REMOVALS_PER_COMMIT = 32_768;
const PAGE_BYTES = 4096;

export class StaleSeqnos {
  private entries = new Float64Array(4096);
  private count = 0;
  /** The first `sorted` entries are in order (the round being removed). */
  private sorted = 0;
  private readonly scratch = encodeSeqnoKey(0, 0);

  constructor(
    private readonly db: LmdbDatabases,
    private readonly path: string,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The entry (vbid, seqno) is stale: removed by a later `removeSome`. Inside the caller's
   * transaction when it must go at once. */
  add(vbid: number, seqno: number): void {
    if (seqno >= SEQNO_SPAN) {
      this.db.seqnos.removeSync(encodeSeqnoKey(vbid, seqno, this.scratch));
      return;
    }
    if (this.count === this.entries.length) {
      const grown = new Float64Array(this.entries.length * 2);
      grown.set(this.entries);
      this.entries = grown;
    }
    this.entries[this.count++] = vbid * SEQNO_SPAN + seqno;
  }

  /** Removes up to `limit` of the collected entries, lowest first, in one transaction. They are
   * sorted once, when none sorted are left: entries added meanwhile wait for the next round. */
  removeSome(limit = STALE_REMOVALS_PER_COMMIT): number {
    if (this.sorted === 0) {
      this.entries.subarray(0, this.count).sort();
      this.sorted = this.count;
    }
    const n = Math.min(limit, this.sorted);
    if (n === 0) return 0;
    // At most a page rewritten per removal: too little room and they wait.
    checkRoom(this.path, n * PAGE_BYTES);
    const all = this.entries;
    this.db.env.transactionSync(() => {
      for (let i = 0; i < n; i++) {
        const v = all[i];
        const vbid = Math.floor(v / SEQNO_SPAN);
        this.db.seqnos.removeSync(encodeSeqnoKey(vbid, v - vbid * SEQNO_SPAN, this.scratch));
      }
    });
    all.copyWithin(0, n, this.count);
    this.count -= n;
    this.sorted -= n;
    return n;
  }

  /** Removes every collected entry (a clean shutdown). */
  removeAll(): void {
    while (this.count > 0) this.removeSome();
  }

  /** Drops a vBucket's entries with seqnos above `above` (0: all of them). Its deletion removes
   * the whole of its index; a state persisted at once with high seqno `above` (a replica's
   * rollback) means those seqnos will be issued again, and a waiting removal must never meet a
   * new item's entry. One left on disk that way is the sweep's at the next start. */
  forget(vbid: number, above = 0): void {
    const from = vbid * SEQNO_SPAN + above;
    const to = (vbid + 1) * SEQNO_SPAN;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const v = this.entries[i];
      if (v <= from || v >= to) this.entries[kept++] = v;
    }
    this.count = kept;
    this.sorted = 0;
  }
}
