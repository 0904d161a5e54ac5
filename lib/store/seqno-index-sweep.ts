/**
 * Finds seqno-index entries whose item has moved on (or gone) and removes them: the ones a
 * crash left behind while their removal waited in StaleSeqnos (stale-seqnos.ts), which nothing
 * else would ever remove. The index should hold one entry per item (tombstones included); what
 * it holds beyond that and beyond the removals still waiting is such leftovers, and a sweep
 * walks the whole index in seqno order, a chunk per transaction, to find them.
 */
import { checkRoom } from './disk-room.js';
import { encodeItemKey, encodeSeqnoKey, seqnoKeySeqno } from './key-codec.js';
import type { LmdbDatabases } from './lmdb-databases.js';
import { recordSeqno } from './record.js';

/** Entries looked at per transaction. */
const SWEEP_CHUNK = 8192;

export class SeqnoIndexSweep {
  /** The next seqno key to look at; null: no sweep under way. */
  private next: Buffer | null = null;

  constructor(
    private readonly db: LmdbDatabases,
    private readonly path: string,
  ) {}

  get running(): boolean {
    return this.next !== null;
  }

  /** Entries beyond one per item and beyond the `waiting` removals still to come. */
  leftovers(waiting: number): number {
    return entryCount(this.db.seqnos.getStats()) - entryCount(this.db.items.getStats()) - waiting;
  }

  start(): void {
    this.next ??= Buffer.alloc(0);
  }

  /** Looks at the next chunk of the index and removes its entries whose item has another seqno
   * or none, in one transaction; returns whether the sweep goes on. */
  step(): boolean {
    const from = this.next;
    if (from === null) return false;
    // The chunk's entries span a few pages; this is ample.
    checkRoom(this.path, 64 * 4096);
    this.db.env.transactionSync(() => {
      const stale: Buffer[] = [];
      let seen = 0;
      // Where the chunk ended, as numbers: a key from the range may share lmdb-js's buffers.
      let lastVb = 0;
      let lastSeqno = 0;
      for (const { key, value } of this.db.seqnos.getRange({ start: from.length > 0 ? from : undefined, limit: SWEEP_CHUNK })) {
        seen++;
        lastVb = key.readUInt16BE(0);
        lastSeqno = seqnoKeySeqno(key);
        const record = this.db.items.getBinaryFast(encodeItemKey(lastVb, value, 0, value.length));
        if (record === undefined || recordSeqno(record) !== lastSeqno) stale.push(Buffer.from(key));
      }
      for (const key of stale) this.db.seqnos.removeSync(key);
      this.next = seen < SWEEP_CHUNK ? null : encodeSeqnoKey(lastVb, lastSeqno + 1);
    });
    return this.next !== null;
  }
}

function entryCount(stats: object): number {
  const n: unknown = Reflect.get(stats, 'entryCount');
  return typeof n === 'number' ? n : 0;
}
