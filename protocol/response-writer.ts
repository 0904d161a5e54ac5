/**
 * Encodes responses (and a DCP producer's requests) into large reusable slabs and hands the
 * socket layer whole pieces.
 * Written regions of a slab are overwritten only after the caller says (`reuse()`) that no
 * taken piece is still in use (the socket may hold them), so a batch of responses costs one
 * socket write and no per-response allocation, and a connection keeps one slab while its
 * socket keeps up.
 */
import * as header from './header.js';
import { encodeHeader } from './header.js';
import { STATUS } from './status.js';
import * as bytes from './bytes.js';
import { copyBytes, copyWords, dataViewOf } from './bytes.js';

// Module constants, not imported bindings: V8 reads an import through its module cell at every
// use (lib/engine/bucket-table.ts).
const { HEADER_LENGTH, MAGIC_REQUEST, MAGIC_RESPONSE } = header;
const { WORD_COPY_MAX } = bytes;
const SLAB_SIZE = 64 * 1024;
const TWO_32 = 0x1_0000_0000;
/** Values above this go out as their own piece instead of being copied into a slab. */
const INLINE_LIMIT = 16 * 1024;

/** Each status's memcached text as bytes, made on first use. */
const statusTexts = new Map<number, Buffer>();
function statusText(status: number): Buffer {
  let b = statusTexts.get(status);
  if (b === undefined) {
    b = Buffer.from(STATUS[status]?.message ?? '');
    statusTexts.set(status, b);
  }
  return b;
}

export class ResponseWriter {
  private slab: Buffer = Buffer.allocUnsafe(SLAB_SIZE);
  private slabData: DataView = dataViewOf(this.slab);
  private pos = 0;
  private start = 0;
  private pieces: Buffer[] = [];
  /** Bytes encoded but not yet taken by `take()`. */
  pending = 0;

  /** Writes a response header; the caller then writes exactly `bodyLength` bytes. Six word
   * stores through the slab's DataView (header.ts encodeHeader's layout, data type 0), not 24
   * byte stores: every reply has one. */
  header(opcode: number, status: number, opaque: number, cas: number, extrasLength: number, keyLength: number, bodyLength: number): void {
    this.reserve(HEADER_LENGTH);
    const d = this.slabData;
    const p = this.pos;
    d.setUint32(p, (MAGIC_RESPONSE << 24) | (opcode << 16) | keyLength);
    d.setUint32(p + 4, (extrasLength << 24) | status);
    d.setUint32(p + 8, bodyLength);
    d.setUint32(p + 12, opaque);
    const hi = cas < TWO_32 ? 0 : Math.floor(cas / TWO_32);
    d.setUint32(p + 16, hi);
    d.setUint32(p + 20, cas - hi * TWO_32);
    this.pos += HEADER_LENGTH;
    this.pending += HEADER_LENGTH;
  }

  /** Writes a request header (server-to-client DCP messages); then exactly `bodyLength` bytes. */
  request(opcode: number, vbucket: number, opaque: number, cas: number, extrasLength: number, keyLength: number, bodyLength: number, datatype = 0): void {
    this.reserve(HEADER_LENGTH);
    encodeHeader(this.slab, this.pos, MAGIC_REQUEST, opcode, vbucket, extrasLength, keyLength, bodyLength, opaque, cas, datatype);
    this.pos += HEADER_LENGTH;
    this.pending += HEADER_LENGTH;
  }

  u16(value: number): void {
    this.reserve(2);
    this.slabData.setUint16(this.pos, value);
    this.pos += 2;
    this.pending += 2;
  }

  u32(value: number): void {
    this.reserve(4);
    this.slabData.setUint32(this.pos, value);
    this.pos += 4;
    this.pending += 4;
  }

  u64(value: bigint): void {
    this.reserve(8);
    this.slab.writeBigUInt64BE(value, this.pos);
    this.pos += 8;
    this.pending += 8;
  }

  /** A 64-bit field holding a number below 2^53 (a seqno), without a BigInt per call. */
  u53(value: number): void {
    this.reserve(8);
    this.slabData.setUint32(this.pos, Math.floor(value / TWO_32));
    this.slabData.setUint32(this.pos + 4, value >>> 0);
    this.pos += 8;
    this.pending += 8;
  }

  /** Copies bytes in; `stable` says the source is immutable, so a large one can be referenced. */
  bytes(src: Buffer, offset: number, length: number, stable = false): void {
    if (length === 0) return;
    this.pending += length;
    if (length > INLINE_LIMIT) {
      this.cut();
      this.pieces.push(stable ? src.subarray(offset, offset + length) : Buffer.from(src.subarray(offset, offset + length)));
      return;
    }
    this.reserve(length);
    copyBytes(src, offset, this.slab, this.pos, length);
    this.pos += length;
  }

  /** `bytes` from a source with a DataView over it (`srcData`; null: none): a short run is
   * copied word by word, with no typed array made for it (a GET's value from the arena). */
  bytesFrom(src: Buffer, srcData: DataView | null, offset: number, length: number, stable = false): void {
    if (srcData === null || length > WORD_COPY_MAX) return this.bytes(src, offset, length, stable);
    if (length === 0) return;
    this.pending += length;
    this.reserve(length);
    copyWords(srcData, offset, this.slabData, this.pos, length);
    this.pos += length;
  }

  ascii(text: string): void {
    const length = Buffer.byteLength(text);
    this.reserve(length);
    this.slab.write(text, this.pos);
    this.pos += length;
    this.pending += length;
  }

  /** A header-only response. */
  simple(opcode: number, status: number, opaque: number, cas: number): void {
    this.header(opcode, status, opaque, cas, 0, 0, 0);
  }

  /** An error response carrying memcached's text for the status (or `text`). */
  error(opcode: number, status: number, opaque: number, text?: string): void {
    if (text === undefined) {
      // The status's own text, encoded once: a GET miss is the commonest error there is.
      const message = statusText(status);
      this.header(opcode, status, opaque, 0, 0, 0, message.length);
      this.bytes(message, 0, message.length);
      return;
    }
    this.header(opcode, status, opaque, 0, 0, 0, Buffer.byteLength(text));
    this.ascii(text);
  }

  /** Everything encoded so far when it is one slab region (the common case: no value went out
   * as a piece of its own), without the list `take()` allocates; null otherwise, or when
   * nothing is pending. */
  takeOne(): Buffer | null {
    if (this.pieces.length > 0 || this.pos === this.start) return null;
    const one = this.slab.subarray(this.start, this.pos);
    this.start = this.pos;
    this.pending = 0;
    return one;
  }

  /** Hands over everything encoded so far, in order. */
  take(): Buffer[] {
    this.cut();
    const out = this.pieces;
    this.pieces = [];
    this.pending = 0;
    return out;
  }

  /**
   * Starts the slab over, when nothing encoded is waiting to be taken. The caller vouches that
   * no buffer `take()` or `takeOne()` handed out is still in use (written out, not held).
   *
   * Why: a new slab for every 64 KB of output was an ArrayBuffer per few hundred replies, and
   * V8 counts ArrayBuffer memory allocated since its last full collection against the old
   * generation's limit: under a plain read load the event loop ran a full mark-compact (with its
   * helper threads' marking) about twice a second, to reclaim slabs nobody used any more.
   */
  reuse(): void {
    if (this.pos === this.start && this.pieces.length === 0) {
      this.pos = 0;
      this.start = 0;
    }
  }

  private cut(): void {
    if (this.pos > this.start) {
      this.pieces.push(this.slab.subarray(this.start, this.pos));
      this.start = this.pos;
    }
  }

  private reserve(n: number): void {
    if (this.slab.length - this.pos >= n) return;
    this.cut();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
    this.slabData = dataViewOf(this.slab);
    this.pos = 0;
    this.start = 0;
  }
}
