/**
 * Where the resident table keeps its records (a SET's from the start, others once committed):
 * 1 MiB pages cut into chunks of size classes 5% apart (8 bytes apart below 160), memcached's
 * slabs with a finer factor than its 1.25 (a 140-byte record took a 176-byte chunk; pages are
 * filled in order, so a class's page costs memory only as far as it is used), a free list per
 * class, so a record costs its bytes and no JavaScript object. A Buffer per record cost about
 * 100 bytes of heap beside its bytes, and the garbage collector marked every one of them
 * (bench:memory, bench:path).
 *
 * A chunk is addressed by page and offset. `view()` hands out a Buffer over a chunk; it is
 * valid until the chunk is freed AND reused by a later `alloc()`: readers copy what they keep
 * before they may allocate (the reply writer copies values up to 16 KiB, and no chunk holds
 * more than MAX_RECORD). Pages are never returned: a class keeps the pages it once needed, as
 * memcached's do.
 *
 * The resident table's keys too long for a bucket live in an arena of their own, with classes
 * 8 bytes apart (KEY_CLASSES).
 */
import { dataViewOf } from '../../protocol/bytes.js';

export const PAGE_SIZE = 1024 * 1024;
/** Larger records stay in Buffers of their own (and are referenced, not copied, by replies). */
export const MAX_RECORD = 8 * 1024;
const SMALLEST = 64;
const GROWTH = 1.05;
/** Class sizes are multiples of this, so every chunk's address is too. */
export const ALIGN = 8;
/** The most bytes of pages: a chunk's address in ALIGN units fits in an int32 (entry-records.ts
 * keeps 4 bytes per entry, not a double's 8). Past it, records stay in Buffers of their own. */
export const MAX_ARENA_BYTES = 2 ** 31 * ALIGN;

/** A class table: sizes from `smallest` up to `largest`, each at least ALIGN and about
 * `growth` times the one before, and the class of every length in ALIGN steps
 * (`classOf[(len + 7) >> 3]`). */
interface SizeClasses {
  sizes: number[];
  classOf: Uint8Array;
  largest: number;
}

function sizeClasses(smallest: number, growth: number, largest: number): SizeClasses {
  const sizes: number[] = [];
  for (let size = smallest; ; size = Math.max(size + ALIGN, Math.ceil((size * growth) / ALIGN) * ALIGN)) {
    sizes.push(Math.min(size, largest));
    if (size >= largest) break;
  }
  const classOf = new Uint8Array(largest / ALIGN + 1);
  for (let i = 0, c = 0; i < classOf.length; i++) {
    while (sizes[c] < i * ALIGN) c++;
    classOf[i] = c;
  }
  return { sizes, classOf, largest };
}

/** Records: 5% apart from 64 bytes (8 bytes apart below 160). */
const RECORD_CLASSES = sizeClasses(SMALLEST, GROWTH, MAX_RECORD);
/** Keys too long for their bucket (bucket-table.ts): 8 bytes apart up to 160 (a client key of
 * memcached's 250 bytes wastes at most 12), then 5%, up to the longest key a request can carry
 * (a 16-bit length, and the vBucket's 2 bytes). */
export const KEY_CLASSES = sizeClasses(24, GROWTH, 65544);

export class RecordArena {
  /** Bytes of pages allocated. */
  pageBytes = 0;
  private pages: Buffer[] = [];
  /** A DataView per page, for copies that make no view per call (bytes.ts copyWords). */
  private pageViews: DataView[] = [];
  /** Per class: free chunks as page * PAGE_SIZE + offset (under 2^53 for any arena). */
  private freeChunks: number[][];
  /** Per class: the page being cut and where its uncut part starts (-1: none). */
  private cutPage: number[];
  private cutAt: number[];

  /** `maxBytes`: at most MAX_ARENA_BYTES (a smaller one lets a test fill an arena);
   * `classes`: records' by default, or KEY_CLASSES. */
  constructor(
    private readonly maxBytes = MAX_ARENA_BYTES,
    private readonly classes: SizeClasses = RECORD_CLASSES,
  ) {
    this.freeChunks = classes.sizes.map(() => []);
    this.cutPage = classes.sizes.map(() => -1);
    this.cutAt = classes.sizes.map(() => 0);
  }

  /** Whether a chunk of `length` bytes is kept here. */
  fits(length: number): boolean {
    return length <= this.classes.largest;
  }

  /** The class of a chunk of `length` bytes (fits). */
  private classOf(length: number): number {
    return this.classes.classOf[(length + ALIGN - 1) >> 3];
  }

  /** The byte at `at` (page * PAGE_SIZE + offset), 0 past the pages: for touching. */
  byteAt(at: number): number {
    const page = this.pages[Math.floor(at / PAGE_SIZE)];
    return page === undefined ? 0 : page[at % PAGE_SIZE];
  }

  /** A chunk for `length` bytes, as page * PAGE_SIZE + offset, with `src` copied in; -1 when
   * that takes a page past the arena's most bytes. */
  store(src: Uint8Array, srcOffset: number, length: number): number {
    const at = this.alloc(length);
    if (at >= 0) this.pages[Math.floor(at / PAGE_SIZE)].set(src.length === length && srcOffset === 0 ? src : src.subarray(srcOffset, srcOffset + length), at % PAGE_SIZE);
    return at;
  }

  /** A chunk for `length` bytes (fits), its bytes left as they were; -1 as `store`. */
  alloc(length: number): number {
    const c = this.classOf(length);
    const free = this.freeChunks[c];
    let at: number;
    if (free.length > 0) {
      at = free.pop() as number;
    } else {
      const size = this.classes.sizes[c];
      let page = this.cutPage[c];
      if (page < 0 || this.cutAt[c] + size > PAGE_SIZE) {
        if (this.pageBytes + PAGE_SIZE > this.maxBytes) return -1;
        page = this.pages.length;
        const bytes = Buffer.allocUnsafeSlow(PAGE_SIZE);
        this.pages.push(bytes);
        this.pageViews.push(dataViewOf(bytes));
        this.pageBytes += PAGE_SIZE;
        this.cutPage[c] = page;
        this.cutAt[c] = 0;
      }
      at = page * PAGE_SIZE + this.cutAt[c];
      this.cutAt[c] += size;
    }
    return at;
  }

  /** Gives back the chunk at `at` that held `length` bytes. */
  release(at: number, length: number): void {
    this.freeChunks[this.classOf(length)].push(at);
  }

  /** The page holding the chunk at `at` (its offset there: `at % PAGE_SIZE`). */
  page(at: number): Buffer {
    return this.pages[Math.floor(at / PAGE_SIZE)];
  }

  /** The DataView of the page holding the chunk at `at`. */
  pageData(at: number): DataView {
    return this.pageViews[Math.floor(at / PAGE_SIZE)];
  }

  /** The `length` bytes at `at`, as a Buffer over the page (see the file comment). */
  view(at: number, length: number): Buffer {
    const offset = at % PAGE_SIZE;
    return this.pages[Math.floor(at / PAGE_SIZE)].subarray(offset, offset + length);
  }

  /** Forgets every chunk and page. */
  clear(): void {
    this.pages = [];
    this.pageViews = [];
    this.pageBytes = 0;
    this.freeChunks = this.classes.sizes.map(() => []);
    this.cutPage = this.classes.sizes.map(() => -1);
    this.cutAt = this.classes.sizes.map(() => 0);
  }
}
