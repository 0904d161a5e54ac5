/**
 * Whether a bucket of the resident table's index (bucket-table.ts) holds a key, given three
 * ways: as bytes, as a latin1 string, or as a request's vBucket and client key, the item key
 * (key-codec.ts: the vBucket's two bytes, then the key) compared without being built.
 */
import { equalWords, keyView } from '../../protocol/bytes.js';
import * as layout from './bucket-layout.js';
import type { LongKeys } from './long-keys.js';

// Module constants, not the imported bindings (why: bucket-table.ts).
const { B_KEY_AT, B_STATE, INLINE_KEY_MAX, KEY_AT, KEYLEN_SHIFT } = layout;

/** Whether the bucket at int offset `at` of `bk` (`kd`: a view of its bytes) holds `buf[offset, +length)`. */
export function holdsBytes(bk: Int32Array, kd: DataView, at: number, longKeys: LongKeys, buf: Uint8Array, offset: number, length: number): boolean {
  if (bk[at + B_STATE] >>> KEYLEN_SHIFT !== length) return false;
  if (length > INLINE_KEY_MAX) return longKeys.equals(bk[at + B_KEY_AT], buf, offset, length);
  return equalWords(kd, at * 4 + KEY_AT, keyView(buf), buf.byteOffset + offset, length);
}

/** `holdsBytes` for a key given as a latin1 string. */
export function holdsString(bk: Int32Array, kd: DataView, at: number, longKeys: LongKeys, key: string): boolean {
  const length = key.length;
  if (bk[at + B_STATE] >>> KEYLEN_SHIFT !== length) return false;
  if (length > INLINE_KEY_MAX) return longKeys.startsWith(bk[at + B_KEY_AT], key);
  const base = at * 4 + KEY_AT;
  for (let i = 0; i < length; i++) if (kd.getUint8(base + i) !== key.charCodeAt(i)) return false;
  return true;
}

/** `holdsBytes` for the item key of vBucket `vbid` and the client key `buf[offset, +length)`. */
export function holdsItemKey(bk: Int32Array, kd: DataView, at: number, longKeys: LongKeys, vbid: number, buf: Uint8Array, offset: number, length: number): boolean {
  if (bk[at + B_STATE] >>> KEYLEN_SHIFT !== length + 2) return false;
  if (length + 2 > INLINE_KEY_MAX) return longKeys.equalsItemKey(bk[at + B_KEY_AT], vbid, buf, offset, length);
  const base = at * 4 + KEY_AT;
  if (kd.getUint16(base) !== vbid) return false;
  return equalWords(kd, base + 2, keyView(buf), buf.byteOffset + offset, length);
}
