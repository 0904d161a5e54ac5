/**
 * The resident table's per-entry words (bucket-table.ts, entry-records.ts, item-cache.ts), side
 * by side in one array: an entry's bucket, record place, record length, write stamp and access
 * time share a cache line (or two neighbouring ones). In five arrays of their own, a SET or a
 * GET of a random key of a million paid a cache miss (and often a TLB miss) for each word it
 * touched: three to five per request, in addition to the bucket and the record.
 *
 * The array lies over a resizable ArrayBuffer that grows in place: doubling by copying made a
 * fresh array at once, and faulting its pages in stalled the event loop for about 100 ms at a
 * million entries; a resize maps the new pages and the kernel faults each in when first
 * touched. The address space for MAX_ENTRIES is reserved up front (not memory: untouched pages
 * cost nothing).
 */

/** ES2024's resizable ArrayBuffer (Node 20 has it; our TypeScript lib is ES2022). */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

/** Int32 words per entry, and each word's place among them. */
export const ENTRY_WORDS = 5;
/** Bucket-table.ts: the bucket the entry sits in (-1: none). */
export const W_BUCKET = 0;
/** Entry-records.ts: where the record is (-1: none), and its length. */
export const W_PLACE = 1;
export const W_LENGTH = 2;
/** Item-cache.ts: the stamp of the write the entry holds (unsigned, read back with `>>> 0`),
 * and its access word: when it was last accessed, with the state bits commits change. */
export const W_STAMP = 3;
export const W_ACCESSED = 4;

/** V8's largest resizable ArrayBuffer is 4 GiB. */
const MAX_BYTES = 2 ** 32;

/** Most entries the resident table can number: 214,748,364 (the 4 GiB of words above), far more
 * items than fit in memory at a record and 120 bytes of bookkeeping each. */
export const MAX_ENTRIES = Math.floor(MAX_BYTES / (ENTRY_WORDS * 4));

/** The room for entries after `capacity` is full: twice as much, but never past MAX_ENTRIES
 * (not a power of two: doubling from 2^27 would pass it). */
export function nextCapacity(capacity: number): number {
  return Math.min(capacity * 2, MAX_ENTRIES);
}

export class EntryWords {
  /** Entry e's words are w[e * ENTRY_WORDS + W_...]; the array object stays the same as it grows. */
  readonly w: Int32Array;
  private entries = 0;

  constructor(entries: number) {
    this.w = new Int32Array(new ResizableArrayBuffer(0, { maxByteLength: MAX_ENTRIES * ENTRY_WORDS * 4 }));
    this.grow(entries);
  }

  /** Room for entry numbers below `entries` (never shrinks); new entries have no bucket and no
   * record. Throws a RangeError past MAX_ENTRIES. */
  grow(entries: number): void {
    if (entries <= this.entries) return;
    if (entries > MAX_ENTRIES) throw new RangeError(`resident table: more than ${MAX_ENTRIES} entries`);
    const before = this.entries;
    (this.w.buffer as ResizableBuffer).resize(entries * ENTRY_WORDS * 4);
    this.entries = entries;
    this.reset(before, entries);
  }

  /** Sets one word of every entry. */
  fill(word: number, value: number): void {
    const w = this.w;
    for (let at = word; at < w.length; at += ENTRY_WORDS) w[at] = value;
  }

  /** Entries [from, to) as new: no bucket, no record, the rest 0. */
  private reset(from: number, to: number): void {
    const w = this.w;
    w.fill(0, from * ENTRY_WORDS, to * ENTRY_WORDS);
    for (let e = from; e < to; e++) {
      w[e * ENTRY_WORDS + W_BUCKET] = -1;
      w[e * ENTRY_WORDS + W_PLACE] = -1;
    }
  }
}
