/**
 * Incremental framer: turns a byte stream, split anywhere, into complete frames: requests (the
 * server's side), or responses and DCP messages (a client's side: `lmcached tail`, the DCP
 * consumer, the bench load generator). The one parser of the binary protocol.
 *
 * Ownership rule: a Frame and every Buffer reachable from it (frame.buf) are valid only during
 * the sink callback that receives it. The framer reuses the Frame object and may overwrite or
 * drop its buffer afterwards, so anything kept longer must be copied by the receiver.
 *
 * Limits are checked when the header arrives, never after buffering a body: an inconsistent
 * header or a body over the hard cap stops the framer; a value over the item limit is reported
 * and then skipped as its bytes arrive, so it is never held in memory.
 */
import { u32be } from './bytes.js';
import * as header from './header.js';
import { decodeHeaderView, newHeader, type Header } from './header.js';

// Module constants, not imported bindings: V8 reads an import through its module cell at every
// use (lib/engine/bucket-table.ts).
const { HEADER_LENGTH, MAGIC_REQUEST, MAGIC_RESPONSE, OFFSET } = header;

export interface Frame extends Header {
  /** Buffer holding the whole request; valid only during the callback. */
  buf: Buffer;
  extrasOffset: number;
  keyOffset: number;
  valueOffset: number;
  valueLength: number;
}

export type FramerFault = 'bad-magic' | 'inconsistent-lengths' | 'body-over-hard-cap';

export interface FrameSink {
  /** A complete request. Return false to pause the framer (resume with `resume()`). */
  frame(frame: Frame): boolean;
  /** The header announces a value over the limit. Return true to skip its body and go on,
   * false to stop (the connection will close). */
  oversized(header: Frame): boolean;
  /** The stream cannot be framed any further; the framer stops. */
  fault(reason: FramerFault, header: Frame): void;
  /** Optional: the unframed bytes `buf[off, off+len)` (starting at a frame), just before they
   * are framed; called when a push leaves more than one frame's bytes. */
  ahead?(buf: Buffer, off: number, len: number): void;
  /** Optional: the bytes `ahead` was given are framed as far as they go now (also when a sink
   * call threw): what the sink noted of them no longer holds (the buffer may be reused). */
  behind?(): void;
}

export interface FramerLimits {
  /** Largest value (body minus key and extras) buffered; larger ones go to `oversized`. */
  maxValueLength: number;
  /** Largest body at all; anything above is a fault (memcached's ITEM_SIZE_MAX_UPPER_LIMIT). */
  hardBodyCap: number;
}

/** Limits for reading a peer's stream as a client (responses, DCP messages): anything a
 * server may send is framed. */
export const PEER_LIMITS: FramerLimits = { maxValueLength: 1 << 30, hardBodyCap: (1 << 30) + 65536 };

/** A response frame's status: bytes 6-7 hold a request's vBucket and a response's status. */
export function responseStatus(f: Frame): number {
  return f.vbucket;
}

const INITIAL_CAPACITY = 16 * 1024;
/** What an empty framer points at: shared, never written (an empty framer owns nothing). */
const EMPTY = Buffer.alloc(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer, EMPTY.byteOffset, 0);
/** Above this an owned buffer is dropped once empty, so one large frame does not pin memory. */
const RETAIN_LIMIT = 256 * 1024;

export class Framer {
  private buf: Buffer = EMPTY;
  private off = 0;
  private len = 0;
  private owned = false;
  /** A DataView over `buf`, made again only when `buf` is another buffer (it is mostly the
   * socket's shared read buffer). */
  private view: DataView = EMPTY_VIEW;
  private viewOf: Buffer = EMPTY;
  private skipRemaining = 0;
  private stopped = false;
  private paused = false;
  private readonly frameView: Frame;

  constructor(
    private readonly sink: FrameSink,
    private readonly limits: FramerLimits,
  ) {
    this.frameView = Object.assign(newHeader(), { buf: this.buf, extrasOffset: 0, keyOffset: 0, valueOffset: 0, valueLength: 0 });
  }

  /** Bytes received but not yet framed (including a partly received frame). */
  get pendingBytes(): number {
    return this.len;
  }

  /** Size of the buffer the framer holds on to (for memory tests and stats). */
  get retainedBytes(): number {
    return this.buf.length;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Paused (by the sink or `pause()`) with requests possibly still unframed. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Feed bytes from the socket: the first `length` of `chunk`. A `transient` chunk is a read
   * buffer the caller reuses as soon as this returns: whatever of it is still unframed then is
   * copied. */
  push(chunk: Buffer, transient = false, length = chunk.length): void {
    if (this.stopped) return;
    let start = 0;
    if (this.skipRemaining > 0) {
      const n = Math.min(this.skipRemaining, length);
      this.skipRemaining -= n;
      start = n;
      if (start === length) return;
    }
    if (this.len === 0) {
      // Nothing pending: adopt the chunk itself, no copy (its bytes past `length` are not ours).
      this.buf = chunk;
      this.off = start;
      this.len = length - start;
      this.owned = false;
    } else {
      this.append(chunk, start, length);
    }
    if (!this.paused) {
      if (this.sink.ahead !== undefined && this.moreThanOneFrame()) this.drainAhead(this.sink.ahead);
      else this.drain();
    }
    if (transient && this.len > 0 && !this.owned) this.own();
  }

  /** Whether the unframed bytes go past the first frame (a lone request is not looked ahead at). */
  private moreThanOneFrame(): boolean {
    return this.len >= 2 * HEADER_LENGTH && this.skipRemaining === 0 && this.len - HEADER_LENGTH > u32be(this.buf, this.off + OFFSET.bodyLength);
  }

  /** `ahead`, then the drain, then `behind`. */
  private drainAhead(ahead: (buf: Buffer, off: number, len: number) => void): void {
    ahead(this.buf, this.off, this.len);
    try {
      this.drain();
    } finally {
      this.sink.behind?.();
    }
  }

  /** Stop delivering frames after the current one until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.stopped) this.drain();
  }

  /** Stop for good (the connection is closing). */
  stop(): void {
    this.stopped = true;
    this.release();
  }

  /** Copies the unframed tail of an adopted chunk into a buffer of the framer's own. */
  private own(): void {
    const next = Buffer.allocUnsafe(Math.max(INITIAL_CAPACITY, this.len));
    this.buf.copy(next, 0, this.off, this.off + this.len);
    this.buf = next;
    this.off = 0;
    this.owned = true;
  }

  private append(chunk: Buffer, start: number, length: number): void {
    const incoming = length - start;
    const needed = this.len + incoming;
    if (!this.owned || this.off + needed > this.buf.length) {
      let capacity = this.owned ? this.buf.length : INITIAL_CAPACITY;
      while (capacity < needed) capacity *= 2;
      const next = !this.owned || capacity > this.buf.length ? Buffer.allocUnsafe(capacity) : this.buf;
      this.buf.copy(next, 0, this.off, this.off + this.len);
      this.buf = next;
      this.off = 0;
      this.owned = true;
    }
    chunk.copy(this.buf, this.off + this.len, start, length);
    this.len += incoming;
  }

  private drain(): void {
    const f = this.frameView;
    while (this.len >= HEADER_LENGTH && !this.paused && !this.stopped) {
      const at = this.off;
      if (this.viewOf !== this.buf) {
        this.viewOf = this.buf;
        this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
      }
      decodeHeaderView(this.view, at, f);
      f.buf = this.buf;
      // Responses (0x81) are framed too: a DCP consumer answers the producer's NOOPs, and a
      // client of a server reads them. Whether one is acceptable is the receiver's call.
      if (f.magic !== MAGIC_REQUEST && f.magic !== MAGIC_RESPONSE) return this.fail('bad-magic');
      const body = f.bodyLength;
      if (f.keyLength + f.extrasLength > body) return this.fail('inconsistent-lengths');
      if (body > this.limits.hardBodyCap) return this.fail('body-over-hard-cap');
      f.extrasOffset = at + HEADER_LENGTH;
      f.keyOffset = f.extrasOffset + f.extrasLength;
      f.valueOffset = f.keyOffset + f.keyLength;
      f.valueLength = body - f.keyLength - f.extrasLength;
      if (f.valueLength > this.limits.maxValueLength) {
        // Wait for extras and key (small) so the sink can name the item; skip the value.
        if (this.len < HEADER_LENGTH + f.extrasLength + f.keyLength) break;
        const consumed = Math.min(this.len - HEADER_LENGTH, body);
        this.skipRemaining = body - consumed;
        this.off += HEADER_LENGTH + consumed;
        this.len -= HEADER_LENGTH + consumed;
        if (!this.sink.oversized(f)) return this.fail(null);
        continue;
      }
      const total = HEADER_LENGTH + body;
      if (this.len < total) break;
      this.off += total;
      this.len -= total;
      if (!this.sink.frame(f)) this.paused = true;
    }
    if (this.len === 0) this.release();
  }

  private fail(reason: FramerFault | null): void {
    this.stopped = true;
    if (reason) this.sink.fault(reason, this.frameView);
    this.release();
  }

  /** Drops the buffer once empty: an adopted chunk belongs to the socket layer, and a large
   * owned buffer should not outlive the frame that needed it. */
  private release(): void {
    this.len = 0;
    this.off = 0;
    if (!this.owned || this.buf.length > RETAIN_LIMIT || this.stopped) {
      this.buf = EMPTY;
      this.owned = false;
      // Nor through the view: a large buffer let go must not stay alive by it.
      if (this.viewOf.length > RETAIN_LIMIT) {
        this.viewOf = EMPTY;
        this.view = EMPTY_VIEW;
      }
    }
  }
}
