/**
 * The resident table's key hashing (bucket-table.ts), for keys as bytes where they lie in a
 * request and as latin1 strings; both forms hash alike.
 */

// FNV-1a over the key bytes, then murmur3's finaliser so the low bits (the bucket) mix. The
// two forms below must agree: bytes in a buffer, a stored latin1 string.

export function hashBytes(buf: Uint8Array, offset: number, length: number): number {
  let h = 0x811c9dc5;
  const end = offset + length;
  for (let i = offset; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return finish(h);
}

/** `hashBytes` of the item key of `buf[offset, +length)` in vBucket `vbid` (key-codec.ts: the
 * vBucket's two bytes, then the key), without building it. */
export function hashItemKey(vbid: number, buf: Uint8Array, offset: number, length: number): number {
  let h = Math.imul(0x811c9dc5 ^ ((vbid >>> 8) & 0xff), 0x01000193);
  h = Math.imul(h ^ (vbid & 0xff), 0x01000193);
  const end = offset + length;
  for (let i = offset; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return finish(h);
}

export function hashString(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return finish(h);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
