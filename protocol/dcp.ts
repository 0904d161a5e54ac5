/**
 * DCP messages (kv_engine docs/dcp/documentation/commands): the layouts, encoders and decoders
 * of what a producer sends (snapshot marker V1, mutation, deletion V1, expiration, stream end,
 * NOOP) and of what a consumer sends (open, stream request, buffer acknowledgement, NOOP
 * answer). Producer messages are requests (magic 0x80) travelling from server to client.
 */
import { EXTRAS_LENGTH } from './extras.js';
import { HEADER_LENGTH, MAGIC_RESPONSE, encodeHeader } from './header.js';
import { OP } from './opcodes.js';

export const DCP_OPEN_PRODUCER = 0x01;

export const STREAM_REQ_EXTRAS_LENGTH = EXTRAS_LENGTH.dcpStreamReq;
export const OPEN_EXTRAS_LENGTH = EXTRAS_LENGTH.dcpOpen;
export const SNAPSHOT_MARKER_EXTRAS_LENGTH = 20;
export const MUTATION_EXTRAS_LENGTH = 31;
export const DELETION_EXTRAS_LENGTH = 18;
export const EXPIRATION_EXTRAS_LENGTH = 20;
export const STREAM_END_EXTRAS_LENGTH = 4;

export const SNAPSHOT_FLAG = {
  MEMORY: 0x01,
  DISK: 0x02,
  CHECKPOINT: 0x04,
  /** The consumer answers the marker (a takeover stream's). */
  ACK: 0x08,
} as const;

/** DCP_STREAM_REQ / DCP_ADD_STREAM flags. */
export const STREAM_FLAG = {
  TAKEOVER: 0x01,
} as const;

export const STREAM_END_FLAG = {
  OK: 0x00,
  CLOSED: 0x01,
  STATE_CHANGED: 0x02,
  DISCONNECTED: 0x03,
  TOO_SLOW: 0x04,
} as const;

/** "Stream forever". */
export const END_SEQNO_INFINITE = 0xffffffffffffffffn;

export interface StreamRequest {
  flags: number;
  start: bigint;
  end: bigint;
  vbuuid: bigint;
  snapStart: bigint;
  snapEnd: bigint;
}

export function decodeStreamRequest(buf: Buffer, at: number): StreamRequest {
  return {
    flags: buf.readUInt32BE(at),
    start: buf.readBigUInt64BE(at + 8),
    end: buf.readBigUInt64BE(at + 16),
    vbuuid: buf.readBigUInt64BE(at + 24),
    snapStart: buf.readBigUInt64BE(at + 32),
    snapEnd: buf.readBigUInt64BE(at + 40),
  };
}

export function encodeStreamRequest(r: StreamRequest): Buffer {
  const b = Buffer.alloc(STREAM_REQ_EXTRAS_LENGTH);
  b.writeUInt32BE(r.flags, 0);
  b.writeBigUInt64BE(r.start, 8);
  b.writeBigUInt64BE(r.end, 16);
  b.writeBigUInt64BE(r.vbuuid, 24);
  b.writeBigUInt64BE(r.snapStart, 32);
  b.writeBigUInt64BE(r.snapEnd, 40);
  return b;
}

export function encodeOpenExtras(flags: number): Buffer {
  const b = Buffer.alloc(OPEN_EXTRAS_LENGTH);
  b.writeUInt32BE(flags, 4);
  return b;
}

/** Decoded producer messages, for consumers. */
export interface SnapshotMarker {
  start: number;
  end: number;
  flags: number;
}

export function decodeSnapshotMarker(extras: Buffer): SnapshotMarker {
  return { start: Number(extras.readBigUInt64BE(0)), end: Number(extras.readBigUInt64BE(8)), flags: extras.readUInt32BE(16) };
}

export interface ItemMeta {
  seqno: number;
  revSeqno: number;
  /** Mutations only. */
  flags: number;
  expiry: number;
}

export function decodeItemMeta(extras: Buffer, mutation: boolean): ItemMeta {
  return {
    seqno: Number(extras.readBigUInt64BE(0)),
    revSeqno: Number(extras.readBigUInt64BE(8)),
    flags: mutation ? extras.readUInt32BE(16) : 0,
    expiry: mutation ? extras.readUInt32BE(20) : 0,
  };
}

/** Where producer messages are encoded (the response writer's request side). */
export interface DcpMessageWriter {
  request(opcode: number, vbucket: number, opaque: number, cas: number, extrasLength: number, keyLength: number, bodyLength: number, datatype?: number): void;
  u53(v: number): void;
  u32(v: number): void;
  u16(v: number): void;
  bytes(src: Buffer, offset: number, length: number, stable?: boolean): void;
}

/** The metadata of a mutation, deletion or expiration. */
export interface DcpItemMeta {
  seqno: number;
  revSeqno: number;
  cas: number;
  /** Mutations only. */
  flags: number;
  expiry: number;
  datatype: number;
}

const NRU = Buffer.of(0);

/** Each writer returns the bytes the message takes on the wire (flow control counts them). */
export function writeSnapshotMarker(out: DcpMessageWriter, vbid: number, opaque: number, start: number, end: number, flags: number): number {
  out.request(OP.DCP_SNAPSHOT_MARKER, vbid, opaque, 0, SNAPSHOT_MARKER_EXTRAS_LENGTH, 0, SNAPSHOT_MARKER_EXTRAS_LENGTH);
  out.u53(start);
  out.u53(end);
  out.u32(flags);
  return HEADER_LENGTH + SNAPSHOT_MARKER_EXTRAS_LENGTH;
}

/** A mutation; the value is referenced instead of copied when `stable` and large. */
export function writeMutation(out: DcpMessageWriter, vbid: number, opaque: number, m: DcpItemMeta, key: Buffer, keyOffset: number, keyLength: number, value: Buffer, valueOffset: number, valueLength: number, stable: boolean): number {
  const body = MUTATION_EXTRAS_LENGTH + keyLength + valueLength;
  out.request(OP.DCP_MUTATION, vbid, opaque, m.cas, MUTATION_EXTRAS_LENGTH, keyLength, body, m.datatype);
  out.u53(m.seqno);
  out.u53(m.revSeqno);
  out.u32(m.flags);
  out.u32(m.expiry);
  out.u32(0); // lock time
  out.u16(0); // extended meta length
  out.bytes(NRU, 0, 1);
  out.bytes(key, keyOffset, keyLength);
  out.bytes(value, valueOffset, valueLength, stable);
  return HEADER_LENGTH + body;
}

/** A deletion (V1 layout) or, with `expiration`, an expiration. */
export function writeDeletion(out: DcpMessageWriter, vbid: number, opaque: number, m: DcpItemMeta, key: Buffer, keyOffset: number, keyLength: number, expiration: boolean): number {
  const extras = expiration ? EXPIRATION_EXTRAS_LENGTH : DELETION_EXTRAS_LENGTH;
  out.request(expiration ? OP.DCP_EXPIRATION : OP.DCP_DELETION, vbid, opaque, m.cas, extras, keyLength, extras + keyLength);
  out.u53(m.seqno);
  out.u53(m.revSeqno);
  if (expiration) out.u32(0); // delete time
  else out.u16(0); // extended meta length
  out.bytes(key, keyOffset, keyLength);
  return HEADER_LENGTH + extras + keyLength;
}

export function writeStreamEnd(out: DcpMessageWriter, vbid: number, opaque: number, flag: number): number {
  out.request(OP.DCP_STREAM_END, vbid, opaque, 0, STREAM_END_EXTRAS_LENGTH, 0, STREAM_END_EXTRAS_LENGTH);
  out.u32(flag);
  return HEADER_LENGTH + STREAM_END_EXTRAS_LENGTH;
}

/** DCP_FLUSH (0x5a, kv_engine's old flush message, no body): every item of the stream's
 * vBucket with a CAS at or below `barrierCas` (carried in the CAS field, lmcached's use) is
 * gone. Sent only to consumers that asked for it (DCP_CONTROL lmcached_flush=true). */
export function writeFlush(out: DcpMessageWriter, vbid: number, opaque: number, barrierCas: number): number {
  out.request(OP.DCP_FLUSH, vbid, opaque, barrierCas, 0, 0, 0);
  return HEADER_LENGTH;
}

/** DCP_SET_VBUCKET_STATE (0x5b): a takeover stream moves the consumer's vBucket to `state`
 * (pending, then active); the consumer answers. */
export function writeSetVBucketState(out: DcpMessageWriter, vbid: number, opaque: number, state: number): number {
  out.request(OP.DCP_SET_VBUCKET_STATE, vbid, opaque, 0, 1, 0, 1);
  out.bytes(Buffer.of(state), 0, 1);
  return HEADER_LENGTH + 1;
}

/** A consumer's answer to a producer message that wants one (a marker with ACK, a state). */
export function encodeDcpResponse(opcode: number, opaque: number, status = 0): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH);
  encodeHeader(b, 0, MAGIC_RESPONSE, opcode, status, 0, 0, 0, opaque, 0);
  return b;
}

export function writeNoop(out: DcpMessageWriter, opaque: number): number {
  out.request(OP.DCP_NOOP, 0, opaque, 0, 0, 0, 0);
  return HEADER_LENGTH;
}

/** A consumer's answer to the producer's NOOP. */
export function encodeNoopResponse(opaque: number): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH);
  encodeHeader(b, 0, MAGIC_RESPONSE, OP.DCP_NOOP, 0, 0, 0, 0, opaque, 0);
  return b;
}
