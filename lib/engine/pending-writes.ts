/**
 * A vBucket's writes not yet committed, in the order they were issued (seqno order):
 * kv_engine's open checkpoint. The flusher commits writes in that order, so a commit removes a
 * prefix: appending and removing cost no hashing (a Map by key cost three lookups per write).
 * The array is kept and refilled from the start once empty: a new one per batch was grown
 * from nothing by every vBucket each time (a tenth of the bytes a pipelined SET allocated).
 */
/** What the list needs of a write (vbucket.ts's PendingWrite). */
interface Write {
  seqno: number;
}

/** An emptied list longer than this is let go rather than kept (after a burst). */
const KEEP_SLOTS = 4096;
/** Removed slots at the front moved out once they are this many and half the list. */
const COMPACT_AFTER = 1024;

export class PendingWrites<PendingWrite extends Write> {
  /** Slots [head, tail) hold the writes; the rest are undefined. */
  private list: Array<PendingWrite | undefined> = [];
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  push(w: PendingWrite): void {
    this.list[this.tail++] = w;
  }

  /** `w` is committed: it (the oldest) leaves the list. */
  committed(w: PendingWrite): void {
    if (this.head === this.tail || this.list[this.head] !== w) return;
    this.list[this.head++] = undefined;
    if (this.head === this.tail) {
      if (this.list.length > KEEP_SLOTS) this.list = [];
      this.head = this.tail = 0;
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.tail) {
      const n = this.tail - this.head;
      this.list.copyWithin(0, this.head, this.tail);
      this.list.fill(undefined, n, this.tail);
      this.head = 0;
      this.tail = n;
    }
  }

  /** The newest write issued, or undefined. */
  newest(): PendingWrite | undefined {
    return this.size > 0 ? this.list[this.tail - 1] : undefined;
  }

  /** The writes with seqnos in (after, to], oldest first, each key's newest only (`keyOf`:
   * a write's item key as a string). */
  between(after: number, to: number, keyOf: (w: PendingWrite) => string): PendingWrite[] {
    const newest = new Map<string, PendingWrite>();
    for (let i = this.head; i < this.tail; i++) {
      const w = this.list[i] as PendingWrite;
      if (w.seqno > after && w.seqno <= to) newest.set(keyOf(w), w);
    }
    return [...newest.values()].sort((x, y) => x.seqno - y.seqno);
  }

  clear(): void {
    this.list = [];
    this.head = this.tail = 0;
  }
}
