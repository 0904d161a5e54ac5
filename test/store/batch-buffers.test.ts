/**
 * The flusher's batch buffers on their own: reused only once given back, big enough for what
 * is asked, at most two kept and none over the cap; and a batch encoded into a reused buffer
 * (still holding a longer batch's bytes) decodes to exactly its own writes.
 */
import t from 'tap';
import { BatchBuffers } from '../../lib/store/batch-buffers.js';
import { WriteBatchReader, decodeWriteBatch, encodeWriteBatch, writeBatchBytes } from '../../lib/store/write-batch-codec.js';
import type { ItemKeySource, ItemWrite } from '../../lib/store/store.js';

t.test('a buffer is reused once given back, and only if it is big enough', async (t) => {
  const pool = new BatchBuffers();
  const first = pool.take(1000);
  t.ok(first.byteLength >= 1000);
  const second = pool.take(1000);
  t.not(second, first, 'one not given back is never handed out again');
  pool.give(first);
  t.equal(pool.take(500), first, 'given back: reused for a smaller batch');
  const big = pool.take(first.byteLength + 1);
  t.ok(big.byteLength > first.byteLength, 'a larger batch gets a larger buffer');
});

t.test('at most two buffers are kept, the largest, and none over the cap', async (t) => {
  const pool = new BatchBuffers();
  const sizes = [100_000, 300_000, 600_000];
  const taken = sizes.map((n) => pool.take(n));
  for (const b of taken) pool.give(b);
  const again = [pool.take(1), pool.take(1), pool.take(1)];
  t.ok(again.includes(taken[1]) && again.includes(taken[2]), 'the two largest were kept');
  t.notOk(again.includes(taken[0]), 'the smallest was let go');
  const giant = pool.take(40 * 1024 * 1024);
  pool.give(giant);
  t.not(pool.take(40 * 1024 * 1024), giant, 'a buffer over the cap is not kept');
});

t.test('a short batch encoded over a longer one decodes to exactly its own writes', async (t) => {
  const write = (key: string, record: Buffer | null, seqno: number): ItemWrite => ({ keyString: `\u0000\u0001${key}`, record, seqno, prevSeqno: seqno - 1 });
  const long = Array.from({ length: 50 }, (_, i) => write(`long-key-${i}`, Buffer.alloc(200, i), i + 1));
  const short = [write('a', Buffer.from('value of a'), 100), write('gone', null, 101)];
  const pool = new BatchBuffers();
  const buffer = pool.take(writeBatchBytes(long));
  encodeWriteBatch(long, buffer);
  pool.give(buffer);
  const reused = pool.take(writeBatchBytes(short));
  t.equal(reused, buffer, 'the same buffer, still holding the long batch');
  encodeWriteBatch(short, reused);
  const decoded = [...decodeWriteBatch(reused, short.length)];
  t.same(
    decoded.map((d) => ({ key: d.itemKey.toString('latin1'), record: d.record?.toString('latin1') ?? null, seqno: d.seqno, prevSeqno: d.prevSeqno })),
    [
      { key: '\u0000\u0001a', record: 'value of a', seqno: 100, prevSeqno: 99 },
      { key: '\u0000\u0001gone', record: null, seqno: 101, prevSeqno: 100 },
    ],
  );
});

t.test('WriteBatchReader walks the writes decodeWriteBatch decodes, at an offset too, with no view per write', async (t) => {
  const write = (key: string, record: Buffer | null, seqno: number): ItemWrite => ({ keyString: `\u0000\u0003${key}`, record, seqno, prevSeqno: -1 });
  const writes = [write('k1', Buffer.from('one'), 7), write('gone', null, 8), write('k1', Buffer.alloc(300, 9), 9), write('', Buffer.alloc(0), 10)];
  const offset = 24;
  const buffer = new ArrayBuffer(offset + writeBatchBytes(writes));
  const shifted = new Uint8Array(buffer, offset);
  const staging = new ArrayBuffer(writeBatchBytes(writes));
  encodeWriteBatch(writes, staging);
  shifted.set(new Uint8Array(staging));
  const expected = [...decodeWriteBatch(buffer, writes.length, offset)].map((d) => ({ key: d.itemKey.toString('latin1'), record: d.record?.toString('hex') ?? null, seqno: d.seqno }));
  const r = new WriteBatchReader(buffer, writes.length, offset);
  const got: typeof expected = [];
  while (r.next()) got.push({ key: r.bytes.toString('latin1', r.keyAt, r.keyAt + r.keyLength), record: r.recordLength < 0 ? null : r.bytes.toString('hex', r.recordAt, r.recordAt + r.recordLength), seqno: r.seqno });
  t.same(got, expected);
  t.equal(got.length, 4);
  t.notOk(r.next(), 'stays at the end');
});

t.test('writes without a key string take their keys from the key source, mixed with writes that have one', async (t) => {
  interface Keyed extends ItemWrite {
    held: string;
  }
  const write = (key: string, own: boolean, seqno: number): Keyed => ({ keyString: own ? key : null, held: key, record: Buffer.from(`v${seqno}`), seqno, prevSeqno: -1 });
  const writes = [write('\u0000\u0001held', false, 1), write('\u0000\u0001own', true, 2), write(`\u0000\u0002${'k'.repeat(300)}`, false, 3)];
  let asked = 0;
  const keys: ItemKeySource<Keyed> = {
    keyLength: (w) => w.held.length,
    putKey: (w, dst, at) => {
      asked++;
      dst.set(Buffer.from(w.held, 'latin1'), at);
    },
  };
  const buffer = new ArrayBuffer(writeBatchBytes(writes, keys));
  encodeWriteBatch(writes, buffer, keys);
  t.equal(asked, 2, 'the source is asked for the keys the writes lack, only');
  t.same(
    [...decodeWriteBatch(buffer, writes.length)].map((d) => [d.itemKey.toString('latin1'), d.record?.toString()]),
    writes.map((w) => [w.held, `v${w.seqno}`]),
  );
  t.throws(() => writeBatchBytes(writes), /no key source/, 'a write without its key and no source: an error, never a wrong key');
});

t.test('records inside a larger page, with or without its DataView, encode exactly their bytes at every length', async (t) => {
  const page = Buffer.alloc(4096);
  for (let i = 0; i < page.length; i++) page[i] = (i * 151 + 7) & 0xff;
  const pageData = new DataView(page.buffer, page.byteOffset, page.length);
  // Lengths around the word copy's steps and its limit (200), at offsets of every alignment.
  const writes: ItemWrite[] = [];
  for (const length of [1, 3, 4, 5, 31, 33, 127, 129, 136, 199, 200, 201, 255, 256, 257, 300]) {
    for (const at of [0, 1, 2, 3, 8, 1001]) {
      for (const withData of [true, false]) {
        writes.push({ keyString: `k${length}:${at}:${withData ? 'v' : '-'}`, record: page, recordAt: at, recordLength: length, recordData: withData ? pageData : null, seqno: writes.length + 1, prevSeqno: -1 });
      }
    }
  }
  const buffer = new ArrayBuffer(writeBatchBytes(writes) + 64);
  new Uint8Array(buffer).fill(0xee);
  encodeWriteBatch(writes, buffer);
  const decoded = [...decodeWriteBatch(buffer, writes.length)];
  let wrong = 0;
  decoded.forEach((d, i) => {
    const w = writes[i];
    const at = w.recordAt as number;
    if (d.itemKey.toString('latin1') !== w.keyString || d.record === null || !d.record.equals(page.subarray(at, at + (w.recordLength as number)))) wrong++;
  });
  t.equal(decoded.length, writes.length);
  t.equal(wrong, 0, 'every record its own bytes, the page around it not copied');
});
