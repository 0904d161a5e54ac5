/**
 * The 24-byte binary-protocol header (memcached protocol_binary.h, kv_engine
 * docs/BinaryProtocol.md "Packet Structure"). Requests use magic 0x80, responses 0x81.
 *
 *   Byte/     0       |       1       |       2       |       3       |
 *      +---------------+---------------+---------------+---------------+
 *     0| Magic         | Opcode        | Key length                    |
 *     4| Extras length | Data type     | vBucket id (req) / status (res)|
 *     8| Total body length                                             |
 *    12| Opaque                                                        |
 *    16| CAS                                                           |
 *    20|                                                               |
 *      +---------------+---------------+---------------+---------------+
 */

import { putU16be, putU32be, u32be } from './bytes.js';

export const HEADER_LENGTH = 24;
export const MAGIC_REQUEST = 0x80;
export const MAGIC_RESPONSE = 0x81;

/** Offsets of each header field, shared by the decoder and the encoders. */
export const OFFSET = {
  magic: 0,
  opcode: 1,
  keyLength: 2,
  extrasLength: 4,
  datatype: 5,
  vbucketOrStatus: 6,
  bodyLength: 8,
  opaque: 12,
  cas: 16,
} as const;

const TWO_32 = 4294967296;

/** A decoded header. CAS is a number: lmcached never issues CAS values at or above 2^53,
 * so a client value that large cannot equal any stored CAS even after rounding. */
export interface Header {
  magic: number;
  opcode: number;
  keyLength: number;
  extrasLength: number;
  datatype: number;
  vbucket: number;
  bodyLength: number;
  opaque: number;
  cas: number;
}

export function newHeader(): Header {
  return { magic: 0, opcode: 0, keyLength: 0, extrasLength: 0, datatype: 0, vbucket: 0, bodyLength: 0, opaque: 0, cas: 0 };
}

/** Decodes the header at `offset` into `into` (reused by the caller to avoid allocation). */
export function decodeHeader(buf: Buffer, offset: number, into: Header): Header {
  return decodeHeaderView(new DataView(buf.buffer, buf.byteOffset, buf.length), offset, into);
}

/** `decodeHeader` through a DataView over the buffer (`view`): words, not bytes. The framer
 * decodes every request's header this way, with one view kept per buffer (90/10 pipelined
 * +2 to +6% against 24 byte reads, bench/RESULTS.md session 40). */
export function decodeHeaderView(view: DataView, offset: number, into: Header): Header {
  const w0 = view.getUint32(offset);
  into.magic = w0 >>> 24;
  into.opcode = (w0 >>> 16) & 0xff;
  into.keyLength = w0 & 0xffff;
  const w1 = view.getUint32(offset + 4);
  into.extrasLength = w1 >>> 24;
  into.datatype = (w1 >>> 16) & 0xff;
  into.vbucket = w1 & 0xffff;
  into.bodyLength = view.getUint32(offset + 8);
  into.opaque = view.getUint32(offset + 12);
  into.cas = view.getUint32(offset + 16) * TWO_32 + view.getUint32(offset + 20);
  return into;
}

/** Reads a big-endian u64 as a number (exact below 2^53). */
export function readU64(buf: Buffer, offset: number): number {
  return u32be(buf, offset) * TWO_32 + u32be(buf, offset + 4);
}

/** Writes a non-negative integer number as a big-endian u64. */
export function writeU64(buf: Buffer, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  putU32be(buf, offset, hi);
  putU32be(buf, offset + 4, value - hi * TWO_32);
}

/** Encodes a header at `offset`: a response (MAGIC_RESPONSE, field 6-7 is the status) or a
 * request (MAGIC_REQUEST, field 6-7 is the vBucket; a DCP producer's messages). The caller
 * writes extras, key and value after it. */
export function encodeHeader(
  buf: Buffer,
  offset: number,
  magic: number,
  opcode: number,
  vbucketOrStatus: number,
  extrasLength: number,
  keyLength: number,
  bodyLength: number,
  opaque: number,
  cas: number,
  datatype = 0,
): void {
  buf[offset] = magic;
  buf[offset + OFFSET.opcode] = opcode;
  putU16be(buf, offset + OFFSET.keyLength, keyLength);
  buf[offset + OFFSET.extrasLength] = extrasLength;
  buf[offset + OFFSET.datatype] = datatype;
  putU16be(buf, offset + OFFSET.vbucketOrStatus, vbucketOrStatus);
  putU32be(buf, offset + OFFSET.bodyLength, bodyLength);
  putU32be(buf, offset + OFFSET.opaque, opaque);
  writeU64(buf, offset + OFFSET.cas, cas);
}
