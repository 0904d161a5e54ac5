/**
 * The on-disk key codec, owned by the store. An item key is the vBucket id (u16 BE) followed
 * by the client's key bytes; a seqno-index key is the vBucket id and the seqno (u64 BE). Every
 * module that builds or takes apart such a key (engine, flusher, DCP, warmup, purger) does it
 * through these functions, so the layout is written down once.
 */
import { copyBytes, putU16be, u16be } from '../../protocol/bytes.js';
import { readU64, writeU64 } from '../../protocol/header.js';

/** Bytes of the vBucket id in front of the client's key. */
export const VBID_LENGTH = 2;
/** Where the client's key starts inside an item key. */
export const USER_KEY_OFFSET = VBID_LENGTH;
const SEQNO_KEY_LENGTH = VBID_LENGTH + 8;

/** A new item key for `vbid` and `length` bytes of `src` from `offset`. */
export function encodeItemKey(vbid: number, src: Uint8Array, offset: number, length: number): Buffer {
  const k = Buffer.allocUnsafe(VBID_LENGTH + length);
  putU16be(k, 0, vbid);
  copyBytes(src, offset, k, VBID_LENGTH, length);
  return k;
}

export function itemKeyVbid(itemKey: Uint8Array): number {
  return u16be(itemKey, 0);
}

/** Length of the client's key inside an item key. */
export function userKeyLength(itemKey: Uint8Array): number {
  return itemKey.length - VBID_LENGTH;
}

/** The client's key, as a view into the item key. */
export function userKeyOf(itemKey: Buffer): Buffer {
  return itemKey.subarray(VBID_LENGTH);
}

/** The item-key prefix every key of `vbid` starts with, as a latin1 string (the resident
 * table's key form). */
export function vbucketPrefixString(vbid: number): string {
  return String.fromCharCode(vbid >>> 8, vbid & 0xff);
}

/** First and (exclusive) last item key of one vBucket; `end` is undefined for the last id. */
export function vbucketKeyRange(vbid: number): { start: Buffer; end: Buffer | undefined } {
  const start = Buffer.from([vbid >> 8, vbid & 0xff]);
  const end = vbid === 0xffff ? undefined : Buffer.from([(vbid + 1) >> 8, (vbid + 1) & 0xff]);
  return { start, end };
}

export function encodeSeqnoKey(vbid: number, seqno: number, into: Buffer = Buffer.allocUnsafe(SEQNO_KEY_LENGTH)): Buffer {
  const k = into;
  putU16be(k, 0, vbid);
  writeU64(k, VBID_LENGTH, seqno);
  return k;
}

export function seqnoKeySeqno(seqnoKey: Buffer): number {
  return readU64(seqnoKey, VBID_LENGTH);
}

/** Writes an item key held as a latin1 string (ItemWrite.keyString) into `dst` at `offset`. */
export function putItemKeyString(key: string, dst: Uint8Array, offset: number): number {
  for (let i = 0; i < key.length; i++) dst[offset + i] = key.charCodeAt(i);
  return offset + key.length;
}

/**
 * Item keys built in one reused buffer, for lookups: a view per key length is made once, so
 * a read allocates nothing. A view is valid until the next `view()` call.
 */
export class ItemKeyScratch {
  private readonly buf = Buffer.allocUnsafe(VBID_LENGTH + 65535);
  private readonly views: Array<Buffer | undefined> = [];

  view(vbid: number, src: Uint8Array, offset: number, length: number): Buffer {
    const s = this.buf;
    s[0] = vbid >>> 8;
    s[1] = vbid;
    copyBytes(src, offset, s, VBID_LENGTH, length);
    const n = VBID_LENGTH + length;
    let v = this.views[n];
    if (v === undefined) v = this.views[n] = s.subarray(0, n);
    return v;
  }
}
