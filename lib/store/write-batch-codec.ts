/**
 * One flusher batch of item writes as a single buffer, shared with the write thread
 * (write-thread.ts; batch-buffers.ts reuses it): the main thread copies each key and record once and keeps no
 * per-write object alive for the commit (lmdb-js's queued writes cost three instruction
 * encodings and three pending-resolution objects per item write, which survived young-GC until
 * their commit).
 *
 * Layout: a table of n rows (f64 seqno, f64 previous seqno (-1: not known), f64 item-key length,
 * f64 record length (-1: a removal)), then the item keys and records, each key followed by its
 * record. A table of doubles, not a byte stream: each field is one typed-array store.
 */
import { copyBytes, copyWords, dataViewOf } from '../../protocol/bytes.js';
import { putItemKeyString } from './key-codec.js';
import type { ItemKeySource, ItemWrite } from './store.js';

const ROW = 4;
const NO_RECORD = -1;
/** Up to this many bytes a record with a DataView (an arena page's) is copied word by word:
 * `copyBytes` makes a view per record over WORD_COPY_MAX, and a 100-byte value's record is 136.
 * Word by word costs what a view and `set` cost up to about 200 bytes (110 ns, Node
 * microbenchmark), more beyond (256 bytes: 130-142 against 111-115 ns). */
const RECORD_WORD_COPY_MAX = 200;

/** Bytes `encodeWriteBatch` needs for `writes`. */
export function writeBatchBytes<W extends ItemWrite>(writes: readonly W[], keys?: ItemKeySource<W>): number {
  const n = writes.length;
  let size = n * ROW * 8;
  for (let i = 0; i < n; i++) {
    const w = writes[i];
    size += keyLengthOf(w, keys) + (w.record === null ? 0 : (w.recordLength ?? w.record.length));
  }
  return size;
}

/** Encodes `writes` at the start of `buffer` (at least writeBatchBytes long); decodeWriteBatch
 * takes it with writes.length. `keys` supplies the keys of writes without a keyString. */
export function encodeWriteBatch<W extends ItemWrite>(writes: readonly W[], buffer: ArrayBufferLike, keys?: ItemKeySource<W>): void {
  const n = writes.length;
  const table = new Float64Array(buffer, 0, n * ROW);
  const bytes = new Uint8Array(buffer);
  let data: DataView | null = null;
  let p = n * ROW * 8;
  for (let i = 0; i < n; i++) {
    const w = writes[i];
    const row = i * ROW;
    table[row] = w.seqno;
    table[row + 1] = w.prevSeqno;
    const keyLength = keyLengthOf(w, keys);
    table[row + 2] = keyLength;
    if (w.keyString !== null) putItemKeyString(w.keyString, bytes, p);
    else (keys as ItemKeySource<W>).putKey(w, bytes, p);
    p += keyLength;
    const rec = w.record;
    if (rec === null) {
      table[row + 3] = NO_RECORD;
    } else {
      const length = w.recordLength ?? rec.length;
      table[row + 3] = length;
      const from = w.recordData;
      if (length === rec.length) bytes.set(rec, p); // a whole typed array: no view to make
      else if (from !== undefined && from !== null && length <= RECORD_WORD_COPY_MAX) copyWords(from, w.recordAt ?? 0, (data ??= dataViewOf(bytes)), p, length);
      else copyBytes(rec, w.recordAt ?? 0, bytes, p, length);
      p += length;
    }
  }
}

function keyLengthOf<W extends ItemWrite>(w: W, keys: ItemKeySource<W> | undefined): number {
  if (w.keyString !== null) return w.keyString.length;
  if (keys === undefined) throw new Error('a write without its key, and no key source');
  return keys.keyLength(w);
}

/** A decoded write: its item key and record are views into the batch's buffer. */
export interface DecodedWrite {
  itemKey: Buffer;
  record: Buffer | null;
  seqno: number;
  prevSeqno: number;
}

/** The `count` writes of a batch encoded at `offset` (a multiple of 8) in `buffer`, each a view
 * into it (valid as long as it is). */
export function* decodeWriteBatch(buffer: ArrayBufferLike, count: number, offset = 0): Generator<DecodedWrite> {
  const table = new Float64Array(buffer, offset, count * ROW);
  const bytes = Buffer.from(buffer);
  let p = offset + count * ROW * 8;
  for (let i = 0; i < count; i++) {
    const row = i * ROW;
    const keyLength = table[row + 2];
    const itemKey = bytes.subarray(p, p + keyLength);
    p += keyLength;
    const recordLength = table[row + 3];
    let record: Buffer | null = null;
    if (recordLength !== NO_RECORD) {
      record = bytes.subarray(p, p + recordLength);
      p += recordLength;
    }
    yield { itemKey, record, seqno: table[row], prevSeqno: table[row + 1] };
  }
}

/** A batch's writes in order, one at a time, with no object and no view per write: where the
 * current write's item key and record lie in `bytes` (the apply thread's steady path, which
 * copies each key into a scratch buffer; decodeWriteBatch's views and objects were most of
 * what that thread allocated per write, and they lived until the transaction ended). */
export class WriteBatchReader {
  seqno = 0;
  keyAt = 0;
  keyLength = 0;
  recordAt = 0;
  /** -1: a removal. */
  recordLength = NO_RECORD;
  /** The whole batch buffer. */
  readonly bytes: Buffer;
  private readonly table: Float64Array;
  private i = -1;
  private p: number;

  constructor(
    buffer: ArrayBufferLike,
    private readonly count: number,
    offset = 0,
  ) {
    this.table = new Float64Array(buffer, offset, count * ROW);
    this.bytes = Buffer.from(buffer);
    this.p = offset + count * ROW * 8;
  }

  /** Moves to the next write; false after the last. */
  next(): boolean {
    if (++this.i >= this.count) return false;
    const row = this.i * ROW;
    this.seqno = this.table[row];
    this.keyLength = this.table[row + 2];
    this.keyAt = this.p;
    this.p += this.keyLength;
    this.recordLength = this.table[row + 3];
    this.recordAt = this.p;
    if (this.recordLength !== NO_RECORD) this.p += this.recordLength;
    return true;
  }
}
