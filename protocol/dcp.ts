/**
 * DCP message layouts (kv_engine docs/dcp/documentation/commands): the extras of what a
 * producer sends (snapshot marker V1, mutation, deletion V1, expiration, stream end) and of
 * what a consumer sends (open, stream request, buffer acknowledgement). Producer messages are
 * requests (magic 0x80) travelling from server to client.
 */

export const DCP_OPEN_PRODUCER = 0x01;

/** Stream-request extras: flags u32, reserved u32, start, end, vbuuid, snap start, snap end (u64). */
export const STREAM_REQ_EXTRAS_LENGTH = 48;
/** DCP_OPEN extras: reserved u32, flags u32. */
export const OPEN_EXTRAS_LENGTH = 8;
/** DCP_BUFFER_ACKNOWLEDGEMENT extras: bytes acknowledged u32. */
export const BUFFER_ACK_EXTRAS_LENGTH = 4;
export const SNAPSHOT_MARKER_EXTRAS_LENGTH = 20;
export const MUTATION_EXTRAS_LENGTH = 31;
export const DELETION_EXTRAS_LENGTH = 18;
export const EXPIRATION_EXTRAS_LENGTH = 20;
export const STREAM_END_EXTRAS_LENGTH = 4;

export const SNAPSHOT_FLAG = {
  MEMORY: 0x01,
  DISK: 0x02,
  CHECKPOINT: 0x04,
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
