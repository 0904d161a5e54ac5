/**
 * Framer for memcached's text protocol: command lines ending in "\n" (normally "\r\n"), and for
 * storage commands a data block of a stated length followed by "\r\n". Like the binary framer
 * it adopts chunks, keeps only an incomplete tail, and hands out views valid during the
 * callback only. A data block over the item limit is skipped as it arrives, never buffered.
 */

export interface AsciiSink {
  /** A command line without its line ending. Return the length of the data block that follows
   * (storage commands), -1 for none, or -2 to skip `skip` bytes (an oversized block), set via
   * `skipBytes`; return false to stop. */
  line(buf: Buffer, start: number, end: number): number | false;
  /** The data block announced by the previous line; `ok` is false when it did not end in \r\n. */
  data(buf: Buffer, start: number, length: number, ok: boolean): boolean;
  /** A line longer than the limit: the stream cannot be framed further. */
  tooLong(): void;
}

/** memcached closes a connection that sent 2048 bytes without a line end, unless the line is a
 * get or gets (a multi-get may name thousands of keys): those are read whole. */
const MAX_LINE = 2048;
/** ... up to this much: past it a get line is refused too (memcached's bound is its memory). */
const MAX_GET_LINE = 2 * 1024 * 1024;
const GET_PREFIX = /^ {0,100}gets? /;

export const ASCII_SKIP = -2;

export class AsciiFramer {
  private buf: Buffer = Buffer.alloc(0);
  private off = 0;
  private len = 0;
  private want = -1;
  private skip = 0;
  private stopped = false;
  private paused = false;

  constructor(private readonly sink: AsciiSink) {}

  /** Frames nothing more until `resume()` (a command that answers over many turns). */
  pause(): void {
    this.paused = true;
  }

  /** Frames what arrived while paused. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /** Bytes of the next data block to skip unseen (set by the sink before returning ASCII_SKIP). */
  skipBytes(n: number): void {
    this.skip = n;
  }

  stop(): void {
    this.stopped = true;
    this.buf = Buffer.alloc(0);
    this.len = 0;
  }

  /** Feed bytes; a `transient` chunk is reused by the caller once this returns, so an
   * incomplete tail of it is copied. */
  push(chunk: Buffer, transient = false): void {
    if (this.stopped) return;
    if (this.len === 0) {
      this.buf = chunk;
      this.off = 0;
      this.len = chunk.length;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.off, this.off + this.len), chunk]);
      this.off = 0;
      this.len = this.buf.length;
    }
    this.drain();
    if (transient && this.len > 0 && this.buf === chunk) {
      this.buf = Buffer.from(this.buf.subarray(this.off, this.off + this.len));
      this.off = 0;
    }
  }

  private drain(): void {
    while (!this.stopped && !this.paused && this.len > 0) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.len);
        this.skip -= n;
        this.off += n;
        this.len -= n;
        continue;
      }
      if (this.want >= 0) {
        if (this.len < this.want + 2) return;
        const at = this.off;
        const ok = this.buf[at + this.want] === 0x0d && this.buf[at + this.want + 1] === 0x0a;
        const n = this.want;
        this.want = -1;
        this.off += n + 2;
        this.len -= n + 2;
        if (!this.sink.data(this.buf, at, n, ok)) return this.stop();
        continue;
      }
      const nl = this.buf.indexOf(0x0a, this.off);
      if (nl < 0 || nl >= this.off + this.len) {
        if (this.len > MAX_LINE && (this.len > MAX_GET_LINE || !GET_PREFIX.test(this.buf.toString('latin1', this.off, this.off + 110)))) {
          this.sink.tooLong();
          this.stop();
        }
        return;
      }
      const start = this.off;
      const end = nl > start && this.buf[nl - 1] === 0x0d ? nl - 1 : nl;
      this.len -= nl + 1 - this.off;
      this.off = nl + 1;
      const r = this.sink.line(this.buf, start, end);
      if (r === false) return this.stop();
      if (r >= 0) this.want = r;
    }
  }
}
