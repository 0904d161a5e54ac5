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

import { putU16be, putU32be, u16be, u32be } from './bytes.js';

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

/** Decodes the header at `offset` into `into` (reused by the framer to avoid allocation). */
export function decodeHeader(buf: Buffer, offset: number, into: Header): Header {
  into.magic = buf[offset];
  into.opcode = buf[offset + OFFSET.opcode];
  into.keyLength = u16be(buf, offset + OFFSET.keyLength);
  into.extrasLength = buf[offset + OFFSET.extrasLength];
  into.datatype = buf[offset + OFFSET.datatype];
  into.vbucket = u16be(buf, offset + OFFSET.vbucketOrStatus);
  into.bodyLength = u32be(buf, offset + OFFSET.bodyLength);
  into.opaque = u32be(buf, offset + OFFSET.opaque);
  into.cas = readU64(buf, offset + OFFSET.cas);
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
