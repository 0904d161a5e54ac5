/**
 * The resident table's per-entry arrays (bucket-table.ts, entry-records.ts, item-cache.ts):
 * typed arrays over resizable ArrayBuffers that grow in place. Doubling them by copying made
 * five fresh arrays at once, 8 MB each at a million entries, and faulting those pages in
 * stalled the event loop for about 100 ms; a resize maps the new pages and the kernel faults
 * each in when first touched. The address space for MAX_ENTRIES is reserved up front (not
 * memory: untouched pages cost nothing), and element access costs about a nanosecond more.
 */

/** ES2024's resizable ArrayBuffer (Node 20 has it; our TypeScript lib is ES2022). */
interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableBuffer;

/** Most entries the resident table can number: 2^28 (a GB of address space per array), far
 * more items than fit in memory at a record and 120 bytes of bookkeeping each. */
export const MAX_ENTRIES = 2 ** 28;

/** An Int32Array of `entries` elements, each `fill`, that `growEntryArray` lengthens. */
export function entryInt32(entries: number, fill = 0): Int32Array {
  const a = new Int32Array(new ResizableArrayBuffer(entries * 4, { maxByteLength: MAX_ENTRIES * 4 }));
  if (fill !== 0) a.fill(fill);
  return a;
}

export function entryUint32(entries: number): Uint32Array {
  return new Uint32Array(new ResizableArrayBuffer(entries * 4, { maxByteLength: MAX_ENTRIES * 4 }));
}

/** Lengthens an array from entryInt32 or entryUint32 to `entries`, in place; the new
 * elements are `fill`. Throws a RangeError past MAX_ENTRIES. */
export function growEntryArray(a: Int32Array | Uint32Array, entries: number, fill = 0): void {
  const before = a.length;
  if (entries > MAX_ENTRIES) throw new RangeError(`resident table: more than ${MAX_ENTRIES} entries`);
  (a.buffer as ResizableBuffer).resize(entries * 4);
  if (fill !== 0) a.fill(fill, before);
}
