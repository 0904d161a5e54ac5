/**
 * Where the resident table keeps committed records: 1 MiB pages cut into chunks of size
 * classes 5% apart (8 bytes apart below 160), memcached's slabs with a finer factor than its
 * 1.25 (a 140-byte record took a 176-byte chunk; pages are filled in order, so a class's page
 * costs memory only as far as it is used), a free list per class, so a clean record costs its
 * bytes and no JavaScript object. A Buffer per record cost about 100 bytes of heap beside its
 * bytes, and the garbage collector marked every one of them (bench:memory, bench:path).
 *
 * A chunk is addressed by page and offset. `view()` hands out a Buffer over a chunk; it is
 * valid until the chunk is freed AND reused by a later `alloc()`: readers copy what they keep
 * before they may allocate (the reply writer copies values up to 16 KiB, and no chunk holds
 * more than MAX_RECORD). Pages are never returned: a class keeps the pages it once needed, as
 * memcached's do.
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

const CLASS_SIZES: number[] = [];
for (let size = SMALLEST; ; size = Math.ceil((size * GROWTH) / ALIGN) * ALIGN) {
  CLASS_SIZES.push(Math.min(size, MAX_RECORD));
  if (size >= MAX_RECORD) break;
}
/** The class of every length in 8-byte steps: CLASS_OF[(len + 7) >> 3]. */
const CLASS_OF = new Uint8Array(MAX_RECORD / ALIGN + 1);
for (let i = 0, c = 0; i < CLASS_OF.length; i++) {
  while (CLASS_SIZES[c] < i * ALIGN) c++;
  CLASS_OF[i] = c;
}

export class RecordArena {
  /** Bytes of pages allocated. */
  pageBytes = 0;
  private pages: Buffer[] = [];
  /** A DataView per page, for copies that make no view per call (bytes.ts copyWords). */
  private pageViews: DataView[] = [];
  /** Per class: free chunks as page * PAGE_SIZE + offset (under 2^53 for any arena). */
  private freeChunks: number[][] = CLASS_SIZES.map(() => []);
  /** Per class: the page being cut and where its uncut part starts (-1: none). */
  private cutPage: number[] = CLASS_SIZES.map(() => -1);
  private cutAt: number[] = CLASS_SIZES.map(() => 0);

  /** `maxBytes`: at most MAX_ARENA_BYTES (a smaller one lets a test fill an arena). */
  constructor(private readonly maxBytes = MAX_ARENA_BYTES) {}

  /** Whether a record of `length` bytes is kept here. */
  static fits(length: number): boolean {
    return length <= MAX_RECORD;
  }

  /** The class of a record of `length` bytes (fits). */
  static classOf(length: number): number {
    return CLASS_OF[(length + ALIGN - 1) >> 3];
  }

  /** A chunk for `length` bytes, as page * PAGE_SIZE + offset, with `src` copied in; -1 when
   * that takes a page past the arena's most bytes. */
  store(src: Uint8Array, srcOffset: number, length: number): number {
    const c = RecordArena.classOf(length);
    const free = this.freeChunks[c];
    let at: number;
    if (free.length > 0) {
      at = free.pop() as number;
    } else {
      const size = CLASS_SIZES[c];
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
    this.pages[Math.floor(at / PAGE_SIZE)].set(src.length === length && srcOffset === 0 ? src : src.subarray(srcOffset, srcOffset + length), at % PAGE_SIZE);
    return at;
  }

  /** Gives back the chunk at `at` that held `length` bytes. */
  release(at: number, length: number): void {
    this.freeChunks[RecordArena.classOf(length)].push(at);
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
    this.freeChunks = CLASS_SIZES.map(() => []);
    this.cutPage = CLASS_SIZES.map(() => -1);
    this.cutAt = CLASS_SIZES.map(() => 0);
  }
}
