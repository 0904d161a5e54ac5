/**
 * Decodes responses (magic 0x81) from a byte stream, for clients of a server: the bench load
 * generator and tests. Kept apart from the request framer, which never sees responses.
 */
import { HEADER_LENGTH, MAGIC_RESPONSE, readU64 } from './header.js';

export interface Response {
  opcode: number;
  status: number;
  datatype: number;
  opaque: number;
  cas: number;
  extras: Buffer;
  key: Buffer;
  value: Buffer;
}

/** Accumulates bytes and returns every complete response; throws on a non-response magic,
 * since a client cannot resynchronise after that. */
export class ResponseDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Response[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const out: Response[] = [];
    let off = 0;
    const b = this.pending;
    while (b.length - off >= HEADER_LENGTH) {
      if (b[off] !== MAGIC_RESPONSE) throw new Error(`bad response magic 0x${b[off].toString(16)}`);
      const keyLength = b.readUInt16BE(off + 2);
      const extrasLength = b[off + 4];
      const bodyLength = b.readUInt32BE(off + 8);
      if (b.length - off < HEADER_LENGTH + bodyLength) break;
      const e = off + HEADER_LENGTH;
      out.push({
        opcode: b[off + 1],
        status: b.readUInt16BE(off + 6),
        datatype: b[off + 5],
        opaque: b.readUInt32BE(off + 12),
        cas: readU64(b, off + 16),
        extras: b.subarray(e, e + extrasLength),
        key: b.subarray(e + extrasLength, e + extrasLength + keyLength),
        value: b.subarray(e + extrasLength + keyLength, e + bodyLength),
      });
      off = e + bodyLength;
    }
    this.pending = off === b.length ? Buffer.alloc(0) : b.subarray(off);
    return out;
  }
}
