/**
 * The records of the resident table's entries, by entry number: a dirty record (a write's own
 * Buffer, until its commit) and one too large for the arena stay as they are; a clean one is
 * copied into the RecordArena and its Buffer let go, so a resident item costs no JavaScript
 * object for its record (bench:memory). The few Buffers sit in a Map, not an array with a slot
 * for every entry.
 */
import { RecordArena } from './record-arena.js';

export class EntryRecords {
  /** Records not in the arena. */
  private readonly buffers = new Map<number, Buffer>();
  private readonly arena = new RecordArena();
  /** The entry's arena chunk (-1: none) and its record's length. */
  private arenaAt: Float64Array;
  private lengths: Int32Array;

  constructor(entries: number) {
    this.arenaAt = new Float64Array(entries).fill(-1);
    this.lengths = new Int32Array(entries);
  }

  /** Bytes of arena pages: the memory clean records take. */
  get arenaBytes(): number {
    return this.arena.pageBytes;
  }

  /** Entry e's record: its Buffer, or a view of its arena chunk (RecordArena.view). */
  of(e: number): Buffer {
    const at = this.arenaAt[e];
    return at >= 0 ? this.arena.view(at, this.lengths[e]) : (this.buffers.get(e) as Buffer);
  }

  length(e: number): number {
    return this.lengths[e];
  }

  /** Whether entry e holds exactly this Buffer (a dirty record, compared by identity). */
  holds(e: number, record: Buffer): boolean {
    return this.arenaAt[e] < 0 && this.buffers.get(e) === record;
  }

  /** A new record for entry e, whose old one is dropped first: a dirty one as it is, a clean
   * one in the arena when it fits there. */
  set(e: number, record: Buffer, dirty: boolean): void {
    this.drop(e);
    this.lengths[e] = record.length;
    if (dirty) this.buffers.set(e, record);
    else this.keepClean(e, record);
  }

  /** Entry e's record (`record`) is clean now: into the arena if it fits. */
  keepClean(e: number, record: Buffer): void {
    if (!RecordArena.fits(record.length)) {
      this.buffers.set(e, record);
      return;
    }
    this.arenaAt[e] = this.arena.store(record, 0, record.length);
    this.buffers.delete(e);
  }

  /** Forgets entry e's record, giving back its arena chunk. */
  drop(e: number): void {
    const at = this.arenaAt[e];
    if (at >= 0) {
      this.arena.release(at, this.lengths[e]);
      this.arenaAt[e] = -1;
    } else {
      this.buffers.delete(e);
    }
  }

  /** Room for `entries` entries. */
  grow(entries: number): void {
    const arenaAt = new Float64Array(entries).fill(-1);
    arenaAt.set(this.arenaAt);
    this.arenaAt = arenaAt;
    const lengths = new Int32Array(entries);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }

  clear(): void {
    this.buffers.clear();
    this.arena.clear();
    this.arenaAt.fill(-1);
  }
}
