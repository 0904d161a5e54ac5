/**
 * Filling the caller-owned result objects (requests.ts) from a record: what a read found, what
 * a mutation did.
 */
import { u32be } from '../../protocol/bytes.js';
import { readU64 } from '../../protocol/header.js';
import { recordCasAt, recordExpiryAt, recordHeaderLengthAt } from '../store/record.js';
import type { ItemView, MutationResult } from './requests.js';
import type { VBucket } from './vbucket.js';

/** Describes the record of `length` bytes at `at` in `buf` (an arena page, `data` its DataView)
 * in `v`: the value by reference into `buf`, valid as long as the record is (record-arena.ts). */
export function fillViewAt(v: ItemView, buf: Buffer, at: number, length: number, data: DataView | null = null): void {
  const header = recordHeaderLengthAt(buf, at);
  v.cas = recordCasAt(buf, at);
  v.flags = u32be(buf, at + 4);
  v.expiry = recordExpiryAt(buf, at);
  v.datatype = buf[at + 2];
  v.value = buf;
  v.valueData = data;
  v.valueOffset = at + header;
  v.valueLength = length - header;
}

/** Describes an immutable record in `v` (value by reference). */
export function fillView(v: ItemView, rec: Buffer): void {
  fillViewAt(v, rec, 0, rec.length);
}

export function setResult(r: MutationResult, vb: VBucket, rec: Buffer, batch: number): void {
  setResultAt(r, vb, rec, 0, rec.length, batch);
}

/** `setResult` for the record of `length` bytes at `at` in `buf` (an arena chunk). */
export function setResultAt(r: MutationResult, vb: VBucket, buf: Buffer, at: number, length: number, batch: number): void {
  r.cas = recordCasAt(buf, at);
  r.seqno = readU64(buf, at + 20);
  r.vbuuid = vb.uuid;
  r.batch = batch;
  r.valueLength = length - recordHeaderLengthAt(buf, at);
  r.expiry = recordExpiryAt(buf, at);
}
