/**
 * Bucket arithmetic of the resident table's index (bucket-table.ts).
 */

/** The bucket a hash starts probing at: the hash scaled onto the table (multiply, not
 * modulo), so homes keep the hashes' order at every size (see BucketTable.grow). The product
 * is below 2^32 * size even rounded (a double's spacing there is size / 2^20), so the home is
 * below size. */
export function home(h: number, size: number): number {
  return Math.floor(((h >>> 0) * size) / 4294967296);
}

/** How many buckets forward `to` lies from `from`, wrapping around. */
export function distance(from: number, to: number, size: number): number {
  return to >= from ? to - from : to - from + size;
}
