/**
 * The stored form of an item, owned by the store: one Buffer that is both the in-memory pending
 * copy and the LMDB value, so a mutation copies its value exactly once. Byte 0 names the
 * layout; a record of any other format is refused on read (`checkRecordFormat`), never guessed
 * at. A change of layout takes a new format number, read (or migrated) by every later build.
 *
 *   0 u8 format | 1 u8 state | 2 u8 datatype | 3 u8 reserved
 *   4 u32 flags | 8 u32 expiry (unix seconds, 0 = never) | 12 u64 CAS | 20 u64 seqno
 *   format 1: 28 value
 *   format 2: 28 u64 revision seqno (kv_engine's rev seqno) | 36 value
 *
 * Format 2 is written; format 1 (written before revision seqnos) is read as it is, with
 * revision seqno 1, so no warmup has to rewrite a data set. Accessors take any readable format;
 * code that copies a value uses recordValueOffset, never a fixed header length.
 */
import { readU64, writeU64 } from '../../protocol/header.js';
import { copyBytes, putU32be, u32be } from '../../protocol/bytes.js';
import { DataFormatError } from './store.js';

/** The format this build writes, and the header length of each format it reads. */
export const RECORD_FORMAT = 2;
const HEADER_LENGTHS: Readonly<Record<number, number>> = { 1: 28, 2: 36 };
/** The header length of the format written. */
export const RECORD_HEADER_LENGTH = HEADER_LENGTHS[RECORD_FORMAT];

/** Throws DataFormatError unless `rec` is a whole record of a format this build reads. */
export function checkRecordFormat(rec: Uint8Array): void {
  const header = HEADER_LENGTHS[rec[0]];
  if (header === undefined) throw new DataFormatError(`item record of unknown format ${rec[0]} (this build reads formats ${Object.keys(HEADER_LENGTHS).join(' and ')})`);
  if (rec.length < header) throw new DataFormatError(`item record of ${rec.length} bytes, shorter than its ${header}-byte header`);
}

/** Where the value starts: after the header of the record's own format. */
export function recordValueOffset(rec: Buffer): number {
  return recordHeaderLengthAt(rec, 0);
}

/** kv_engine's revision seqno: how many times the key was mutated (1 for format 1 records). */
export function recordRevSeqno(rec: Buffer): number {
  return rec[0] === 1 ? 1 : readU64(rec, 28);
}

export const ItemState = {
  Live: 0,
  Deleted: 1,
  Expired: 2,
} as const;
export type ItemState = (typeof ItemState)[keyof typeof ItemState];

export interface RecordFields {
  state: ItemState;
  datatype: number;
  flags: number;
  expiry: number;
  cas: number;
  seqno: number;
  revSeqno: number;
}

/** Fills a reused RecordFields for a live item (the SET path allocates no fields object). */
export function setLiveFields(f: RecordFields, datatype: number, flags: number, expiry: number, cas: number, seqno: number, revSeqno: number): RecordFields {
  f.state = ItemState.Live;
  f.datatype = datatype;
  f.flags = flags;
  f.expiry = expiry;
  f.cas = cas;
  f.seqno = seqno;
  f.revSeqno = revSeqno;
  return f;
}

/** Allocates a record and copies `valueLength` bytes of `src` from `srcOffset` into it. */
export function encodeRecord(f: RecordFields, src: Buffer | null, srcOffset: number, valueLength: number): Buffer {
  const rec = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + valueLength);
  encodeRecordAt(rec, 0, f, src, srcOffset, valueLength);
  return rec;
}

/** Writes a record at `at` in `dst` (RECORD_HEADER_LENGTH + valueLength bytes: a chunk of the
 * resident table's arena, so a SET makes no Buffer of its own); `dstData`: a DataView of `dst`
 * (the value's copy then makes none). */
export function encodeRecordAt(dst: Buffer, at: number, f: RecordFields, src: Buffer | null, srcOffset: number, valueLength: number, dstData?: DataView): void {
  if (dstData !== undefined) {
    // Nine word stores instead of 36 byte stores (a SET writes its record into an arena page).
    dstData.setUint32(at, (RECORD_FORMAT << 24) | (f.state << 16) | (f.datatype << 8));
    dstData.setUint32(at + 4, f.flags);
    dstData.setUint32(at + 8, f.expiry);
    putU64(dstData, at + 12, f.cas);
    putU64(dstData, at + 20, f.seqno);
    putU64(dstData, at + 28, f.revSeqno);
  } else {
    dst[at] = RECORD_FORMAT;
    dst[at + 1] = f.state;
    dst[at + 2] = f.datatype;
    dst[at + 3] = 0;
    putU32be(dst, at + 4, f.flags);
    putU32be(dst, at + 8, f.expiry);
    writeU64(dst, at + 12, f.cas);
    writeU64(dst, at + 20, f.seqno);
    writeU64(dst, at + 28, f.revSeqno);
  }
  if (src && valueLength > 0) copyBytes(src, srcOffset, dst, at + RECORD_HEADER_LENGTH, valueLength, dstData);
}

/** writeU64 through a DataView: a u53 as two big-endian words. */
function putU64(d: DataView, at: number, value: number): void {
  const hi = Math.floor(value / 4294967296);
  d.setUint32(at, hi);
  d.setUint32(at + 4, value - hi * 4294967296);
}

/** Accessors of a record lying at `at` in a larger buffer (an arena page: no Buffer per read). */
export function recordStateAt(buf: Buffer, at: number): ItemState {
  return buf[at + 1] as ItemState;
}

export function recordCasAt(buf: Buffer, at: number): number {
  return readU64(buf, at + 12);
}

export function recordRevSeqnoAt(buf: Buffer, at: number): number {
  return buf[at] === 1 ? 1 : readU64(buf, at + 28);
}

export function recordExpiryAt(buf: Buffer, at: number): number {
  return u32be(buf, at + 8);
}

export function recordHeaderLengthAt(buf: Buffer, at: number): number {
  return buf[at] === 1 ? 28 : RECORD_HEADER_LENGTH;
}

export function recordState(rec: Buffer): ItemState {
  return rec[1] as ItemState;
}

export function recordDatatype(rec: Buffer): number {
  return rec[2];
}

export function recordFlags(rec: Buffer): number {
  return u32be(rec, 4);
}

export function recordExpiry(rec: Buffer): number {
  return u32be(rec, 8);
}

export function recordCas(rec: Buffer): number {
  return readU64(rec, 12);
}

export function recordSeqno(rec: Buffer): number {
  return readU64(rec, 20);
}

export function recordValueLength(rec: Buffer): number {
  return rec.length - recordValueOffset(rec);
}

/** A new record with another expiry, seqno and revision and the same value, flags and CAS
 * (TOUCH/GAT), in the format written. */
export function withExpiry(rec: Buffer, expiry: number, seqno: number, revSeqno: number): Buffer {
  const fields = { state: recordState(rec), datatype: recordDatatype(rec), flags: recordFlags(rec), expiry, cas: recordCas(rec), seqno, revSeqno };
  return encodeRecord(fields, rec, recordValueOffset(rec), recordValueLength(rec));
}
