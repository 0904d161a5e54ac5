/**
 * The stored form of an item, owned by the store: one Buffer that is both the in-memory pending
 * copy and the LMDB value, so a mutation copies its value exactly once. Byte 0 names the
 * layout; a record of any other format is refused on read (`checkRecordFormat`), never guessed
 * at. A change of layout takes a new format number, read (or migrated) by every later build.
 *
 *   0 u8 format (1) | 1 u8 state | 2 u8 datatype | 3 u8 reserved
 *   4 u32 flags | 8 u32 expiry (unix seconds, 0 = never) | 12 u64 CAS | 20 u64 seqno | 28 value
 */
import { readU64, writeU64 } from '../../protocol/header.js';
import { putU32be, u32be } from '../../protocol/bytes.js';
import { DataFormatError } from './store.js';

export const RECORD_FORMAT = 1;
export const RECORD_HEADER_LENGTH = 28;

/** Throws DataFormatError unless `rec` is a whole record of the format this build writes. */
export function checkRecordFormat(rec: Uint8Array): void {
  if (rec.length < RECORD_HEADER_LENGTH) throw new DataFormatError(`item record of ${rec.length} bytes, shorter than its ${RECORD_HEADER_LENGTH}-byte header`);
  if (rec[0] !== RECORD_FORMAT) throw new DataFormatError(`item record of unknown format ${rec[0]} (this build reads format ${RECORD_FORMAT})`);
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
}

/** Allocates a record and copies `valueLength` bytes of `src` from `srcOffset` into it. */
export function encodeRecord(f: RecordFields, src: Buffer | null, srcOffset: number, valueLength: number): Buffer {
  const rec = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + valueLength);
  rec[0] = RECORD_FORMAT;
  rec[1] = f.state;
  rec[2] = f.datatype;
  rec[3] = 0;
  putU32be(rec, 4, f.flags);
  putU32be(rec, 8, f.expiry);
  writeU64(rec, 12, f.cas);
  writeU64(rec, 20, f.seqno);
  if (src && valueLength > 0) src.copy(rec, RECORD_HEADER_LENGTH, srcOffset, srcOffset + valueLength);
  return rec;
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
  return rec.length - RECORD_HEADER_LENGTH;
}

/** Rewrites only the expiry of a record copy (TOUCH/GAT keep value, flags and CAS). */
export function withExpiry(rec: Buffer, expiry: number, seqno: number): Buffer {
  const copy = Buffer.from(rec);
  putU32be(copy, 8, expiry);
  writeU64(copy, 20, seqno);
  return copy;
}
