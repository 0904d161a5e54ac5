/**
 * Extras layouts per command (memcached protocol_binary.h request/response bodies).
 * Readers take the frame buffer and the extras offset, so nothing is allocated.
 */

import { u32be } from './bytes.js';

export const EXTRAS_LENGTH = {
  store: 8, // flags u32, expiry u32
  arith: 20, // delta u64, initial u64, expiry u32
  touch: 4, // expiry u32
  flush: 4, // delay u32 (optional)
  verbosity: 4, // level u32
  getResponse: 4, // flags u32
  setVBucket: 1, // state u8 (kv_engine); 4-byte u32 also accepted
  getAllVbSeqnos: 4, // vbucket state filter u32 (0 = every alive state)
  dcpOpen: 8, // reserved u32, flags u32
  dcpStreamReq: 48, // flags u32, reserved u32, start, end, vbuuid, snap start, snap end (u64)
  dcpBufferAck: 4, // bytes acknowledged u32
} as const;

/** Expiry 0xffffffff in INCR/DECR means "do not create a missing item". */
export const ARITH_NO_CREATE = 0xffffffff;

export function storeFlags(buf: Buffer, extrasOffset: number): number {
  return u32be(buf, extrasOffset);
}

export function storeExpiry(buf: Buffer, extrasOffset: number): number {
  return u32be(buf, extrasOffset + 4);
}

/** Delta and initial are full u64s, so they are read as bigint. */
export function arithDelta(buf: Buffer, extrasOffset: number): bigint {
  return buf.readBigUInt64BE(extrasOffset);
}

export function arithInitial(buf: Buffer, extrasOffset: number): bigint {
  return buf.readBigUInt64BE(extrasOffset + 8);
}

export function arithExpiry(buf: Buffer, extrasOffset: number): number {
  return buf.readUInt32BE(extrasOffset + 16);
}

/** TOUCH, GAT, FLUSH and VERBOSITY all carry one u32. */
export function u32Extra(buf: Buffer, extrasOffset: number): number {
  return u32be(buf, extrasOffset);
}


/** HELLO features we know (kv_engine include/mcbp/protocol/feature.h). */
export const HELLO_FEATURE = {
  TCPNODELAY: 0x03,
  MUTATION_SEQNO: 0x04,
  XERROR: 0x07,
} as const;

/** Extras of a mutation reply when MUTATION_SEQNO is on: vbuuid u64, seqno u64. */
export const MUTATION_SEQNO_EXTRAS_LENGTH = 16;
