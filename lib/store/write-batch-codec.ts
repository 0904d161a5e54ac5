/**
 * One flusher batch of item writes as a single ArrayBuffer, handed to the write thread
 * (write-thread.ts) by transfer: the main thread copies each key and record once and keeps no
 * per-write object alive for the commit (lmdb-js's queued writes cost three instruction
 * encodings and three pending-resolution objects per item write, which survived young-GC until
 * their commit).
 *
 * Per write: u16 item-key length, the item key, u32 record length (NO_RECORD: a removal), the
 * record, f64 seqno, f64 previous seqno (-1: not known). Numbers little-endian.
 */
import type { ItemWrite } from './store.js';

const NO_RECORD = 0xffffffff;
const FIXED = 2 + 4 + 8 + 8;

/** Encodes `writes`; returns the buffer and the bytes used. */
export function encodeWriteBatch(writes: readonly ItemWrite[]): { buffer: ArrayBuffer; length: number } {
  let size = 0;
  for (const w of writes) size += FIXED + w.itemKey.length + (w.record === null ? 0 : w.record.length);
  const out = Buffer.from(new ArrayBuffer(size));
  let p = 0;
  for (const w of writes) {
    p = out.writeUInt16LE(w.itemKey.length, p);
    // TypedArray.set, not Buffer.copy: for short copies it is several times cheaper.
    out.set(w.itemKey, p);
    p += w.itemKey.length;
    if (w.record === null) {
      p = out.writeUInt32LE(NO_RECORD, p);
    } else {
      p = out.writeUInt32LE(w.record.length, p);
      out.set(w.record, p);
      p += w.record.length;
    }
    p = out.writeDoubleLE(w.seqno, p);
    p = out.writeDoubleLE(w.prevSeqno, p);
  }
  return { buffer: out.buffer as ArrayBuffer, length: p };
}

/** The writes of an encoded batch, each a view into `bytes` (valid as long as it is). */
export function* decodeWriteBatch(bytes: Buffer): Generator<ItemWrite> {
  let p = 0;
  while (p < bytes.length) {
    const keyLength = bytes.readUInt16LE(p);
    p += 2;
    const itemKey = bytes.subarray(p, p + keyLength);
    p += keyLength;
    const recordLength = bytes.readUInt32LE(p);
    p += 4;
    let record: Buffer | null = null;
    if (recordLength !== NO_RECORD) {
      record = bytes.subarray(p, p + recordLength);
      p += recordLength;
    }
    const seqno = bytes.readDoubleLE(p);
    const prevSeqno = bytes.readDoubleLE(p + 8);
    p += 16;
    yield { itemKey, record, seqno, prevSeqno };
  }
}
