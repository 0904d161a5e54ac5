/**
 * Big-endian integer access by plain indexing, for the hot path (headers, extras, records).
 *
 * Why: Buffer's readUInt32BE and friends check their arguments in JavaScript on every call
 * (validators, bounds, range), which costs more than the access itself; indexing a
 * Uint8Array is bounds-checked by V8 and compiles to a few instructions. Callers guarantee
 * the bytes are there (a framed header, validated extras, a record), and stores truncate to
 * a byte by the typed array's own rule.
 */

export function u16be(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

export function u32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function putU16be(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function putU32be(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/** Copies `length` bytes of `src` from `srcOffset` into `dst` at `dstOffset`. Short runs go
 * byte by byte; runs up to WORD_COPY_MAX word by word through DataViews of the two buffers
 * (the last source's and target's are kept: SETs copy their values from the same read buffer,
 * a batch its records into one buffer); longer ones through one typed-array view and `set` (a
 * memmove). Buffer's own copy validates its arguments and makes a view too. A view per copy
 * was a fifth of the bytes a SET allocated on the event loop (bench:alloc). `dstData`: a
 * DataView of `dst` the caller has (an arena page: a SET's chunk may be in any page). */
export function copyBytes(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number, length: number, dstData?: DataView): void {
  if (length <= 32) {
    for (let i = 0; i < length; i++) dst[dstOffset + i] = src[srcOffset + i];
    return;
  }
  if (length <= WORD_COPY_MAX) {
    copyWords(sourceView(src), srcOffset, dstData ?? targetView(dst), dstOffset, length);
    return;
  }
  dst.set(new Uint8Array(src.buffer, src.byteOffset + srcOffset, length), dstOffset);
}

// The DataViews of the last source and target: one slot each, so a copy's two buffers never
// evict each other. A buffer whose memory was transferred away is a new object when it comes
// back, so a kept view never outlives its bytes.
let lastSource: Uint8Array | null = null;
let lastSourceView: DataView = new DataView(new ArrayBuffer(0));
let lastTarget: Uint8Array | null = null;
let lastTargetView: DataView = lastSourceView;

function sourceView(b: Uint8Array): DataView {
  if (b !== lastSource) {
    lastSource = b;
    lastSourceView = dataViewOf(b);
  }
  return lastSourceView;
}

// Two more slots for the memory keys are compared from (`keyView`), apart from the copies' (a
// SET's record copied from elsewhere would evict them), kept by ArrayBuffer, not by view: a
// SET compares its key in the request and then as the item key built in a scratch buffer,
// which has a view per key length; kept by view, keys of mixed lengths made a DataView at
// nearly every compare (pipelined SETs over memtier's keys 7-10% slower).
let keysA: ArrayBufferLike | null = null;
let keysViewA: DataView = lastSourceView;
let keysB: ArrayBufferLike | null = null;
let keysViewB: DataView = lastSourceView;

/** A DataView over the whole memory under `b` (b's bytes start at `b.byteOffset` in it), kept
 * for later calls on the same memory: the two most recent. */
export function keyView(b: Uint8Array): DataView {
  const m = b.buffer;
  if (m === keysA) return keysViewA;
  if (m === keysB) return keysViewB;
  keysB = keysA;
  keysViewB = keysViewA;
  keysA = m;
  keysViewA = new DataView(m);
  return keysViewA;
}

function targetView(b: Uint8Array): DataView {
  if (b !== lastTarget) {
    lastTarget = b;
    lastTargetView = dataViewOf(b);
  }
  return lastTargetView;
}

/** Up to this many bytes `copyWords` beats a view and `set` (and it allocates nothing). */
export const WORD_COPY_MAX = 128;

/** Copies `length` bytes between two DataViews four at a time: no typed array is made per
 * call, where `copyBytes` makes one for anything over 32 bytes (a GET's value: about half of
 * the heap a pipelined GET allocated, bench:alloc). Faster than that view and `set` up to
 * WORD_COPY_MAX bytes, slower beyond (a Node microbenchmark: 49 against 90 ns for 100 bytes).
 * Words are read and written little-endian, the machine's order: no byte swap either side (136
 * bytes: 80 against 96 ns). */
export function copyWords(src: DataView, srcOffset: number, dst: DataView, dstOffset: number, length: number): void {
  let i = 0;
  for (; i + 4 <= length; i += 4) dst.setUint32(dstOffset + i, src.getUint32(srcOffset + i, true), true);
  for (; i < length; i++) dst.setUint8(dstOffset + i, src.getUint8(srcOffset + i));
}

/** Whether `length` bytes at `aAt` of `a` equal those at `bAt` of `b`, compared four at a time
 * (a 64-byte key byte by byte was half of a long-key GET's lookup after its cache misses). */
export function equalWords(a: DataView, aAt: number, b: DataView, bAt: number, length: number): boolean {
  let i = 0;
  for (; i + 4 <= length; i += 4) if (a.getInt32(aAt + i, true) !== b.getInt32(bAt + i, true)) return false;
  for (; i < length; i++) if (a.getUint8(aAt + i) !== b.getUint8(bAt + i)) return false;
  return true;
}

/** A DataView over exactly a Buffer's bytes. */
export function dataViewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
