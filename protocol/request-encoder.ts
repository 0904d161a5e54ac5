/**
 * Encodes requests (magic 0x80). The server never sends requests; this is for the bench load
 * generator, tooling and anything else that speaks to a server.
 */
import { HEADER_LENGTH, MAGIC_REQUEST, OFFSET, writeU64 } from './header.js';

export interface RequestFields {
  opcode: number;
  key?: Buffer | string;
  extras?: Buffer;
  value?: Buffer | string;
  opaque?: number;
  cas?: number;
  vbucket?: number;
  datatype?: number;
}

function toBuffer(b: Buffer | string | undefined): Buffer {
  if (b === undefined) return Buffer.alloc(0);
  return typeof b === 'string' ? Buffer.from(b) : b;
}

export function encodeRequest(req: RequestFields): Buffer {
  const key = toBuffer(req.key);
  const extras = req.extras ?? Buffer.alloc(0);
  const value = toBuffer(req.value);
  const body = extras.length + key.length + value.length;
  const out = Buffer.allocUnsafe(HEADER_LENGTH + body);
  out[OFFSET.magic] = MAGIC_REQUEST;
  out[OFFSET.opcode] = req.opcode;
  out.writeUInt16BE(key.length, OFFSET.keyLength);
  out[OFFSET.extrasLength] = extras.length;
  out[OFFSET.datatype] = req.datatype ?? 0;
  out.writeUInt16BE(req.vbucket ?? 0, OFFSET.vbucketOrStatus);
  out.writeUInt32BE(body, OFFSET.bodyLength);
  out.writeUInt32BE((req.opaque ?? 0) >>> 0, OFFSET.opaque);
  writeU64(out, OFFSET.cas, req.cas ?? 0);
  extras.copy(out, HEADER_LENGTH);
  key.copy(out, HEADER_LENGTH + extras.length);
  value.copy(out, HEADER_LENGTH + extras.length + key.length);
  return out;
}

/** Extras for SET/ADD/REPLACE: flags, expiry. */
export function storeExtras(flags: number, expiry: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeUInt32BE(flags >>> 0, 0);
  b.writeUInt32BE(expiry >>> 0, 4);
  return b;
}

/** Extras for INCREMENT/DECREMENT: delta, initial, expiry. */
export function arithExtras(delta: bigint, initial: bigint, expiry: number): Buffer {
  const b = Buffer.allocUnsafe(20);
  b.writeBigUInt64BE(delta, 0);
  b.writeBigUInt64BE(initial, 8);
  b.writeUInt32BE(expiry >>> 0, 16);
  return b;
}

/** Extras holding one u32 (TOUCH, GAT, FLUSH, VERBOSITY). */
export function u32Extras(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}
