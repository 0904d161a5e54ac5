/**
 * The records of the resident table's entries, by entry number: a SET's record is written
 * straight into a chunk of the RecordArena (`reserve`, `setChunk`); a dirty record made as a
 * Buffer (other writes) and one too large for the arena stay as they are until committed; a
 * clean one is copied into the arena and its Buffer let go, so a resident item costs no JavaScript
 * object for its record (bench:memory). The few Buffers sit in a short array of slots, named
 * by the entry's place number, not in an array (8 bytes) or a Map entry for every entry.
 */
import * as arena from './record-arena.js';
import { RecordArena } from './record-arena.js';
import * as words from './entry-arrays.js';
import { EntryWords } from './entry-arrays.js';

// Module constants, not imported bindings (why: bucket-table.ts).
const { ALIGN, PAGE_SIZE } = arena;
const { ENTRY_WORDS, W_LENGTH, W_PLACE } = words;

/** Where a record lies: `length` bytes at `offset` in `buf` (an arena page or the record's own
 * Buffer); filled by `locate` into a caller's reused object, so a read makes no Buffer. */
export interface RecordLocation {
  buf: Buffer;
  offset: number;
  length: number;
  /** A DataView over `buf` when it is an arena page (copies without a view per call); null for
   * a record in a Buffer of its own. */
  data: DataView | null;
}

/** An entry with no record yet. */
const NONE = -1;

export class EntryRecords {
  /** Records not in the arena, by slot; free slots are reused first. */
  private slots: Array<Buffer | undefined> = [];
  private freeSlots: number[] = [];
  private readonly arena: RecordArena;
  /** The entries' words (entry-arrays.ts). W_PLACE: where the entry's record is, its arena
   * chunk's address in ALIGN units (>= 0: an int32 up to MAX_ARENA_BYTES), NONE, or Buffer slot
   * s as -2 - s; W_LENGTH: the record's length. */
  private readonly ew: Int32Array;

  /** `words`: shared with the owner's other per-entry data (item-cache.ts), or the records' own. */
  constructor(
    entries: number,
    arena = new RecordArena(),
    private readonly words = new EntryWords(entries),
  ) {
    this.arena = arena;
    this.ew = words.w;
  }

  /** Bytes of arena pages: the memory records in chunks take. */
  get arenaBytes(): number {
    return this.arena.pageBytes;
  }

  /** Entry e's record: its Buffer, or a view of its arena chunk (RecordArena.view). */
  of(e: number): Buffer {
    const at = this.ew[e * ENTRY_WORDS + W_PLACE];
    return at >= 0 ? this.arena.view(at * ALIGN, this.ew[e * ENTRY_WORDS + W_LENGTH]) : (this.slots[-2 - at] as Buffer);
  }

  /** Touches the words, then the record, of each entry in `entries[0, n)` (-1: none), each step
   * for all of them at once, so their cache misses overlap. */
  touch(entries: Int32Array, n: number): number {
    const ew = this.ew;
    let sink = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[i];
      if (e >= 0) sink |= ew[e * ENTRY_WORDS + W_PLACE];
    }
    for (let i = 0; i < n; i++) {
      const e = entries[i];
      if (e < 0) continue;
      const place = ew[e * ENTRY_WORDS + W_PLACE];
      // Its first and last bytes: the header a lookup reads, the value a GET copies.
      if (place >= 0) sink |= this.arena.byteAt(place * ALIGN) | this.arena.byteAt(place * ALIGN + ew[e * ENTRY_WORDS + W_LENGTH] - 1);
    }
    return sink;
  }

  /** Entry e's record, described in `loc` (the read path's `of`, without a view). */
  locate(e: number, loc: RecordLocation): void {
    const place = this.ew[e * ENTRY_WORDS + W_PLACE];
    if (place >= 0) {
      const at = place * ALIGN;
      loc.buf = this.arena.page(at);
      loc.data = this.arena.pageData(at);
      loc.offset = at % PAGE_SIZE;
      loc.length = this.ew[e * ENTRY_WORDS + W_LENGTH];
    } else {
      const rec = this.slots[-2 - place] as Buffer;
      loc.buf = rec;
      loc.data = null;
      loc.offset = 0;
      loc.length = rec.length;
    }
  }

  length(e: number): number {
    return this.ew[e * ENTRY_WORDS + W_LENGTH];
  }

  /** A new record for entry e, whose old one is dropped first: a dirty one as it is, a clean
   * one in the arena when it fits. */
  set(e: number, record: Buffer, dirty: boolean): void {
    // An arena chunk is given back by its old length; a Buffer slot is kept for the new one.
    if (this.ew[e * ENTRY_WORDS + W_PLACE] >= 0) this.drop(e);
    this.ew[e * ENTRY_WORDS + W_LENGTH] = record.length;
    if (dirty) this.keepBuffer(e, record);
    else this.keepClean(e, record);
  }

  /** An arena chunk for a record of `length` bytes, to be written by the caller and then
   * given to an entry (`setChunk`); -1 when it does not fit or the arena is full. */
  reserve(length: number): number {
    return this.arena.fits(length) ? this.arena.alloc(length) : -1;
  }

  /** The arena page holding the chunk at `at` (its offset there: `at % PAGE_SIZE`). */
  page(at: number): Buffer {
    return this.arena.page(at);
  }

  /** The DataView of that page. */
  pageData(at: number): DataView {
    return this.arena.pageData(at);
  }

  /** Entry e's record is the `length` bytes of the reserved chunk at `at`; its old one is
   * dropped first (`forget` it before, if something else still owns it). */
  setChunk(e: number, at: number, length: number): void {
    this.drop(e);
    this.ew[e * ENTRY_WORDS + W_LENGTH] = length;
    this.ew[e * ENTRY_WORDS + W_PLACE] = at / ALIGN;
  }

  /** Entry e lets go of its record without giving its chunk back: a write not yet committed
   * still owns it, and gives it back itself (`release`). */
  forget(e: number): void {
    if (this.ew[e * ENTRY_WORDS + W_PLACE] >= 0) this.ew[e * ENTRY_WORDS + W_PLACE] = NONE;
    else this.drop(e);
  }

  /** Gives back a chunk no entry holds (one `forget` left to its write). */
  release(at: number, length: number): void {
    this.arena.release(at, length);
  }

  /** Entry e's record is committed: from its Buffer into the arena, if it fits and is not there
   * yet (no view is made for one already there). */
  commit(e: number): void {
    const at = this.ew[e * ENTRY_WORDS + W_PLACE];
    if (at <= -2) this.keepClean(e, this.slots[-2 - at] as Buffer);
  }

  /** Entry e's record (`record`, not in the arena) is clean now: into the arena if it fits. */
  private keepClean(e: number, record: Buffer): void {
    if (!this.arena.fits(record.length)) {
      this.keepBuffer(e, record);
      return;
    }
    const at = this.arena.store(record, 0, record.length);
    if (at < 0) {
      this.keepBuffer(e, record);
      return;
    }
    this.drop(e);
    this.ew[e * ENTRY_WORDS + W_PLACE] = at / ALIGN;
  }

  /** Forgets entry e's record, giving back its arena chunk or Buffer slot. */
  drop(e: number): void {
    const at = this.ew[e * ENTRY_WORDS + W_PLACE];
    if (at >= 0) {
      this.arena.release(at * ALIGN, this.ew[e * ENTRY_WORDS + W_LENGTH]);
    } else if (at <= -2) {
      this.slots[-2 - at] = undefined;
      this.freeSlots.push(-2 - at);
    }
    this.ew[e * ENTRY_WORDS + W_PLACE] = NONE;
  }

  /** Room for `entries` entries. */
  grow(entries: number): void {
    this.words.grow(entries);
  }

  clear(): void {
    this.slots = [];
    this.freeSlots = [];
    this.arena.clear();
    this.words.fill(W_PLACE, NONE);
  }

  /** Entry e keeps `record` as a Buffer, in the slot it has or a new one. */
  private keepBuffer(e: number, record: Buffer): void {
    const at = this.ew[e * ENTRY_WORDS + W_PLACE];
    if (at <= -2) {
      this.slots[-2 - at] = record;
      return;
    }
    this.drop(e);
    const s = this.freeSlots.length > 0 ? (this.freeSlots.pop() as number) : this.slots.length;
    this.slots[s] = record;
    this.ew[e * ENTRY_WORDS + W_PLACE] = -2 - s;
  }
}
