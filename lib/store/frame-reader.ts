/**
 * The apply thread's view of the frames it is to write to LMDB: each is read back from the
 * commit log when a transaction needs it, into one buffer reused for every frame, rather than
 * held in memory from its append until its apply.
 *
 * Why: the log thread copied each batch into a frame buffer of its own, which lived until LMDB
 * had it (up to 64 MB of them while LMDB is behind, flusher.ts), allocated in the log thread's
 * malloc arena, which glibc returns to the system only from its top: after 1M SETs that arena
 * kept ~30 MB. The frame is in the page cache (it was just written), so reading it back costs a
 * copy and no anonymous memory. Frames replayed at start are held in memory as before: a
 * damaged segment is renamed before they are applied.
 */
import { closeSync, openSync } from 'node:fs';
import { readAll, segmentPath } from './commit-log.js';
import { decodeFrame, decodeFrameHead, type FrameHead } from './log-frame.js';

/** A frame to apply: in memory (`payload`, a replay), or in the commit log's segment `segment`
 * at byte `at`. */
export interface CommitFrame {
  /** The store's batch number (0 for a replayed frame) and its write count. */
  batch: number;
  count: number;
  /** The payload's length. */
  bytes: number;
  /** LMDB may hold some of its writes already: read back at start (a crash after the apply),
   * or its commit failed after some pieces went in. Its writes are compared with LMDB's first,
   * so one already in costs no room on a full disk. */
  mayBeIn: boolean;
  payload: ArrayBuffer | null;
  segment: number;
  at: number;
}

export interface LoadedFrame {
  head: FrameHead;
  buffer: ArrayBuffer;
  writesAt: number;
}

/** Frames up to this size are read into the reused buffer; a larger one (a burst's giant
 * batch) into one of its own, let go after. */
const MAX_REUSED_BYTES = 16 * 1024 * 1024;

export class FrameReader {
  private reused = new ArrayBuffer(0);
  /** Open segments, by number. */
  private readonly fds = new Map<number, number>();

  constructor(private readonly dir: string) {}

  /** The frame's head and writes. Unless `own`, a frame from the log is in the reused buffer:
   * valid until the next `read`. */
  read(f: CommitFrame, own = false): LoadedFrame {
    const buffer = f.payload ?? this.readPayload(f, own);
    const { head, writesAt } = decodeFrame(new Uint8Array(buffer, 0, f.bytes));
    return { head, buffer, writesAt };
  }

  /** The frame's head alone (a read of its first bytes). */
  head(f: CommitFrame): FrameHead {
    if (f.payload !== null) return decodeFrame(new Uint8Array(f.payload, 0, f.bytes)).head;
    const fd = this.fd(f.segment);
    return decodeFrameHead((position, length) => {
      const into = new Uint8Array(length);
      readAll(fd, into, f.at + position);
      return into;
    });
  }

  /** The segment is about to be deleted. */
  forget(segment: number): void {
    const fd = this.fds.get(segment);
    if (fd === undefined) return;
    this.fds.delete(segment);
    closeSync(fd);
  }

  close(): void {
    for (const segment of [...this.fds.keys()]) this.forget(segment);
  }

  private readPayload(f: CommitFrame, own: boolean): ArrayBuffer {
    let buffer: ArrayBuffer;
    if (own || f.bytes > MAX_REUSED_BYTES) {
      buffer = new ArrayBuffer(f.bytes);
    } else {
      if (this.reused.byteLength < f.bytes) {
        let size = 64 * 1024;
        while (size < f.bytes) size *= 2;
        this.reused = new ArrayBuffer(size);
      }
      buffer = this.reused;
    }
    readAll(this.fd(f.segment), new Uint8Array(buffer, 0, f.bytes), f.at);
    return buffer;
  }

  private fd(segment: number): number {
    let fd = this.fds.get(segment);
    if (fd === undefined) {
      fd = openSync(segmentPath(this.dir, segment), 'r');
      this.fds.set(segment, fd);
    }
    return fd;
  }
}
