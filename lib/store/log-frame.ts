/**
 * One flusher batch as a commit-log frame's payload (commit-log.ts frames it): what the apply
 * thread needs to write it to LMDB, and what warmup replays after a crash.
 *
 * Payload: u32 BE length of the head, the head (node:v8 serialization of the batch number, the
 * write count and the vBucket states (full records, and since data format 4 the progress of
 * vBuckets whose last full record stands otherwise) and metadata the batch carries), then the encoded writes
 * (write-batch-codec.ts) to the end. The writes' table of doubles is 8-byte aligned in the
 * payload, so a decoder can view it in place.
 */
import { deserialize, serialize } from 'node:v8';
import type { VBStateProgress, VBStateRecord } from './store.js';

export interface FrameHead {
  /** The store's number for the batch, counted from 1 in each process (LmdbStore.writeBatch). */
  batch: number;
  count: number;
  vbstates: Array<[number, VBStateRecord]>;
  /** Absent in frames of data format 3. */
  progress?: VBStateProgress | null;
  meta: Array<[string, unknown]>;
}

const LENGTH = 4;

/** The writes start at an 8-byte boundary after the head. */
function writesOffset(headLength: number): number {
  return (LENGTH + headLength + 7) & ~7;
}

/** The payload's start: the head's length, the head, and zeros up to where the writes start.
 * The log thread appends it and the writes as they are (CommitLog.appendParts), no copy. */
export function encodeFrameHead(head: FrameHead): Uint8Array {
  const h = serialize(head);
  const part = new Uint8Array(writesOffset(h.length));
  new DataView(part.buffer).setUint32(0, h.length);
  part.set(h, LENGTH);
  return part;
}

/** A payload holding `head` and the first `bytes` bytes of the encoded writes in `writes`, in
 * one buffer of its own: the same bytes the log thread appends in two parts (tests build frames
 * and old-format segments with it). */
export function encodeFrame(head: FrameHead, writes: ArrayBufferLike, bytes: number): Uint8Array {
  const part = encodeFrameHead(head);
  const view = new Uint8Array(part.length + bytes);
  view.set(part, 0);
  view.set(new Uint8Array(writes, 0, bytes), part.length);
  return view;
}

/** The head alone, from the payload's first bytes: `read(position, length)` returns that many
 * bytes from the payload's start. */
export function decodeFrameHead(read: (position: number, length: number) => Uint8Array): FrameHead {
  const length = read(0, LENGTH);
  const headLength = new DataView(length.buffer, length.byteOffset, LENGTH).getUint32(0);
  return deserialize(read(LENGTH, headLength)) as FrameHead;
}

export interface DecodedFrame {
  head: FrameHead;
  /** Where the encoded writes start in the payload's buffer, and how long they are. */
  writesAt: number;
  writesBytes: number;
}

/** Reads a payload made by encodeFrame; `payload` must start at an 8-byte boundary of its buffer. */
export function decodeFrame(payload: Uint8Array): DecodedFrame {
  const headLength = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);
  const head = deserialize(payload.subarray(LENGTH, LENGTH + headLength)) as FrameHead;
  const at = writesOffset(headLength);
  return { head, writesAt: payload.byteOffset + at, writesBytes: payload.byteLength - at };
}
