/**
 * A vBucket's writes not yet committed, in the order they were issued (seqno order):
 * kv_engine's open checkpoint. The flusher commits writes in that order, so a commit removes a
 * prefix: appending and removing cost no hashing (a Map by key cost three lookups per write).
 */
/** What the list needs of a write (vbucket.ts's PendingWrite). */
interface Write {
  seqno: number;
}

export class PendingWrites<PendingWrite extends Write> {
  private list: PendingWrite[] = [];
  private head = 0;

  get size(): number {
    return this.list.length - this.head;
  }

  push(w: PendingWrite): void {
    this.list.push(w);
  }

  /** `w` is committed: it (the oldest) leaves the list. */
  committed(w: PendingWrite): void {
    if (this.head < this.list.length && this.list[this.head] === w) {
      this.list[this.head++] = undefined as unknown as PendingWrite;
      if (this.head === this.list.length) {
        this.list = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.list.length) {
        this.list = this.list.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** The newest write issued, or undefined. */
  newest(): PendingWrite | undefined {
    return this.size > 0 ? this.list[this.list.length - 1] : undefined;
  }

  /** The writes with seqnos in (after, to], oldest first, each key's newest only (`keyOf`:
   * a write's item key as a string). */
  between(after: number, to: number, keyOf: (w: PendingWrite) => string): PendingWrite[] {
    const newest = new Map<string, PendingWrite>();
    for (let i = this.head; i < this.list.length; i++) {
      const w = this.list[i];
      if (w.seqno > after && w.seqno <= to) newest.set(keyOf(w), w);
    }
    return [...newest.values()].sort((x, y) => x.seqno - y.seqno);
  }

  clear(): void {
    this.list = [];
    this.head = 0;
  }
}
