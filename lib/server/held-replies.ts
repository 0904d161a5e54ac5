/**
 * Replies held back until a commit: in --ack=persist mode (and in --ack=memory mode while
 * commits lag), a write's reply, and every reply after it, waits for the batch that commits
 * the write, so replies stay in request order and none claims a write that is not on disk.
 */
interface HeldSegment {
  batch: number;
  pieces: Buffer[];
  bytes: number;
}

export class HeldReplies {
  /** Bytes held, all segments. */
  bytes = 0;
  private segments: HeldSegment[] = [];

  get empty(): boolean {
    return this.segments.length === 0;
  }

  /** The batch the newest segment waits for; 0 when nothing is held. */
  get lastBatch(): number {
    const last = this.last();
    return last === undefined ? 0 : last.batch;
  }

  /** Replies from here on wait for `batch`. */
  open(batch: number): void {
    this.segments.push({ batch, pieces: [], bytes: 0 });
  }

  /** Adds replies to the newest segment; false when nothing is held (write them now). */
  add(pieces: readonly Buffer[]): boolean {
    const last = this.last();
    if (last === undefined) return false;
    for (const p of pieces) {
      last.pieces.push(p);
      last.bytes += p.length;
      this.bytes += p.length;
    }
    return true;
  }

  /** `add` for a single piece, without a list. */
  addOne(piece: Buffer): boolean {
    const last = this.last();
    if (last === undefined) return false;
    last.pieces.push(piece);
    last.bytes += piece.length;
    this.bytes += piece.length;
    return true;
  }

  /** Hands the segments whose batch is committed to `write`, oldest first. */
  release(committed: number, write: (pieces: Buffer[]) => void): void {
    while (this.segments.length > 0 && this.segments[0].batch <= committed) {
      const seg = this.segments.shift() as HeldSegment;
      this.bytes -= seg.bytes;
      write(seg.pieces);
    }
  }

  /** Never `segments[length - 1]` on an empty array: index -1 is not an element but a
   * property named "-1", looked up through V8's slow path on every flush. */
  private last(): HeldSegment | undefined {
    return this.segments.length > 0 ? this.segments[this.segments.length - 1] : undefined;
  }
}
