/**
 * An append-only commit log: the sequential file meant to sit in front of LMDB (ARCHITECTURE.md,
 * "Next: a commit log"). A write batch appended here costs one write of its own bytes, where an
 * LMDB commit rewrites a 4 KiB page for nearly every random write (bench/RESULTS.md, session 7,
 * `npm run bench:commit`).
 *
 * File: an 8-byte header (magic "LMCL", u32 BE format), then frames, each a u32 BE payload
 * length, a u32 BE CRC-32 of the payload, and the payload. An append is one positioned write
 * of frame header and payload together, so a crash leaves at most one torn frame, at the end.
 * `replay` reads frames up to the first one that is incomplete or fails its CRC and reports
 * the bytes after it as discarded, and whether they are a torn tail after a crash or damage
 * the caller must report.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DataFormatError } from './store.js';

const MAGIC = 0x4c4d434c; // "LMCL"
/** The frame layout this build writes and reads. */
export const COMMIT_LOG_FORMAT = 1;
const FILE_HEADER = 8;
const FRAME_HEADER = 8;
/** A payload this long or longer is damage, not a frame (a batch is held far below it). */
const MAX_PAYLOAD = 1 << 30;

export interface ReplayResult {
  /** Complete, checked frames, in append order. */
  frames: number;
  /** Bytes of the file that hold them (header included): where appends continue. */
  validBytes: number;
  /** Bytes after the last good frame: a torn append, or damage. */
  discardedBytes: number;
  /** The discarded bytes are damage, not a torn append: the first bad frame is whole but fails
   * its check with bytes after it, or its length cannot be one. A crash tears only the last
   * append, leaving it short (or, after a power loss, whole-length with zeros and nothing after). */
  damaged: boolean;
}

export class CommitLog {
  private readonly frameHeader = Buffer.alloc(FRAME_HEADER);
  private end: number;

  private constructor(
    private readonly fd: number,
    end: number,
  ) {
    this.end = end;
  }

  /** Opens the log at `path`, creating it if missing; appends continue after `validBytes`
   * (from `replay`), or after the header of a new or empty file. Throws DataFormatError for a
   * file that is not a commit log of this format. */
  static open(path: string, validBytes?: number): CommitLog {
    const fd = openSync(path, 'a+');
    closeSync(fd);
    const rw = openSync(path, 'r+');
    try {
      const size = fstatSync(rw).size;
      if (size < FILE_HEADER) {
        const header = Buffer.alloc(FILE_HEADER);
        header.writeUInt32BE(MAGIC, 0);
        header.writeUInt32BE(COMMIT_LOG_FORMAT, 4);
        ftruncateSync(rw, 0);
        writeAll(rw, header, 0);
        fdatasyncSync(rw);
        return new CommitLog(rw, FILE_HEADER);
      }
      checkHeader(rw);
      const end = validBytes ?? size;
      if (end < size) ftruncateSync(rw, end);
      return new CommitLog(rw, end);
    } catch (err) {
      closeSync(rw);
      throw err;
    }
  }

  /** Bytes in the file, header included. */
  get bytes(): number {
    return this.end;
  }

  /** Appends `length` bytes of `payload` as one frame; in the OS page cache on return (kept
   * through a kill of the process), on the disk after `sync`. A failed or short write (a full
   * disk) is cut off again, so the file never keeps a torn frame that later appends follow. */
  append(payload: Uint8Array, length = payload.length): void {
    this.appendParts([length === payload.length ? payload : payload.subarray(0, length)]);
  }

  /** `append` of a payload given in parts, written as they lie (no copy into one buffer);
   * returns where in the file the payload starts. */
  appendParts(parts: readonly Uint8Array[]): number {
    const h = this.frameHeader;
    let length = 0;
    let crc = 0;
    for (const p of parts) {
      length += p.length;
      crc = crc32(p, crc);
    }
    h.writeUInt32BE(length, 0);
    h.writeUInt32BE(crc, 4);
    const want = FRAME_HEADER + length;
    let written = 0;
    try {
      written = writevSync(this.fd, [h, ...parts], this.end);
      if (written !== want) throw Object.assign(new Error(`commit log: short write (${written} of ${want} bytes)`), { code: 'ENOSPC' });
    } catch (err) {
      if (written > 0) ftruncateSync(this.fd, this.end);
      throw err;
    }
    const at = this.end + FRAME_HEADER;
    this.end += want;
    return at;
  }

  sync(): void {
    fdatasyncSync(this.fd);
  }

  /** Empties the log (its header stays), synced: for after its frames are safe elsewhere. */
  truncate(): void {
    ftruncateSync(this.fd, FILE_HEADER);
    fdatasyncSync(this.fd);
    this.end = FILE_HEADER;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Calls `frame` with each complete, checked payload of the log at `path` (a view valid only
 * during the call), in order, up to the first frame that is incomplete or damaged. */
export function replayCommitLog(path: string, frame: (payload: Buffer) => void): ReplayResult {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < FILE_HEADER) return { frames: 0, validBytes: 0, discardedBytes: size, damaged: false };
    checkHeader(fd);
    const head = Buffer.alloc(FRAME_HEADER);
    let body = Buffer.alloc(64 * 1024);
    let at = FILE_HEADER;
    let frames = 0;
    while (at + FRAME_HEADER <= size) {
      readAll(fd, head, at);
      const length = head.readUInt32BE(0);
      if (length >= MAX_PAYLOAD || at + FRAME_HEADER + length > size) break;
      if (body.length < length) body = Buffer.alloc(Math.max(length, body.length * 2));
      const payload = body.subarray(0, length);
      readAll(fd, payload, at + FRAME_HEADER);
      if (crc32(payload) !== head.readUInt32BE(4)) break;
      frame(payload);
      frames++;
      at += FRAME_HEADER + length;
    }
    let damaged = false;
    if (size - at >= FRAME_HEADER) {
      readAll(fd, head, at);
      const length = head.readUInt32BE(0);
      damaged = length >= MAX_PAYLOAD || at + FRAME_HEADER + length < size;
    }
    return { frames, validBytes: at, discardedBytes: size - at, damaged };
  } finally {
    closeSync(fd);
  }
}

function checkHeader(fd: number): void {
  const header = Buffer.alloc(FILE_HEADER);
  readAll(fd, header, 0);
  if (header.readUInt32BE(0) !== MAGIC) throw new DataFormatError('commit log: not a commit log (bad magic)');
  const format = header.readUInt32BE(4);
  if (format !== COMMIT_LOG_FORMAT) throw new DataFormatError(`commit log: format ${format}, this build reads ${COMMIT_LOG_FORMAT}`);
}

/** Fills `into` from the file at `position`. */
export function readAll(fd: number, into: Uint8Array, position: number): void {
  for (let done = 0; done < into.length; ) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw new DataFormatError('commit log: file ended inside a read');
    done += n;
  }
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** The commit log's files in a data directory: `commit-<n>.log`, n counting up from 1. A
 * segment is deleted once every batch in it is in LMDB and synced. */
const SEGMENT = /^commit-(\d{8})\.log$/;

export function segmentPath(dir: string, n: number): string {
  return join(dir, `commit-${String(n).padStart(8, '0')}.log`);
}

/** The segment numbers in `dir`, oldest first. */
export function listSegments(dir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync(dir)) {
    const m = SEGMENT.exec(name);
    if (m !== null) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}
