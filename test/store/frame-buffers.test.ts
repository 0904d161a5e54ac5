/**
 * The log thread's frame buffers on their own: reused only once given back, in power-of-two
 * classes, the pool capped in bytes, foreign and detached buffers refused, the young generation
 * collected after every 8 MiB refused (and the real collection frees them); and a frame encoded
 * into a reused buffer (still holding a longer frame's bytes) decodes to exactly its own head
 * and writes.
 */
import t from 'tap';
import { exposedGc } from '../../lib/store/exposed-gc.js';
import { FrameBuffers } from '../../lib/store/frame-buffers.js';
import { decodeFrame, encodeFrame } from '../../lib/store/log-frame.js';
import type { ItemWrite } from '../../lib/store/store.js';
import { decodeWriteBatch, encodeWriteBatch, writeBatchBytes } from '../../lib/store/write-batch-codec.js';

t.test('a buffer is reused once given back, within its size class', async (t) => {
  const pool = new FrameBuffers();
  const first = pool.take(100_000);
  t.equal(first.byteLength, 128 * 1024, 'rounded up to a power of two');
  t.equal(pool.take(10).byteLength, 64 * 1024, 'never below 64 KiB');
  const second = pool.take(100_000);
  t.not(second, first, 'one not given back is never handed out again');
  pool.give(first);
  t.equal(pool.bytes, 128 * 1024);
  t.not(pool.take(200_000), first, 'a larger frame does not get it');
  t.equal(pool.take(70_000), first, 'a frame of its class does');
  t.equal(pool.bytes, 0);
});

t.test('the pool holds at most 8 MiB, nothing over 16 MiB, and only its own sizes', async (t) => {
  const pool = new FrameBuffers();
  const taken = Array.from({ length: 10 }, () => pool.take(1024 * 1024));
  for (const b of taken) pool.give(b);
  t.equal(pool.bytes, 8 * 1024 * 1024, 'eight of ten 1 MiB buffers kept');
  const fresh = new FrameBuffers();
  fresh.give(new ArrayBuffer(32 * 1024 * 1024));
  fresh.give(new ArrayBuffer(100_000));
  fresh.give(new ArrayBuffer(1024));
  const detached = new ArrayBuffer(64 * 1024);
  structuredClone(detached, { transfer: [detached] });
  fresh.give(detached);
  t.equal(fresh.bytes, 0, 'a giant, an odd size, a small one and a detached one are all refused');
});

t.test('every 8 MiB of refused buffers, the young generation is collected', async (t) => {
  let collections = 0;
  const pool = new FrameBuffers(() => collections++);
  const taken = Array.from({ length: 8 + 7 }, () => pool.take(1024 * 1024));
  for (const b of taken) pool.give(b);
  t.equal(pool.bytes, 8 * 1024 * 1024, 'the pool full');
  t.equal(collections, 0, 'seven refused: not yet');
  pool.give(pool.take(2 * 1024 * 1024));
  t.equal(collections, 1, 'the eighth and ninth MiB: one collection');
  pool.give(new ArrayBuffer(3 * 1024 * 1024));
  pool.give(new ArrayBuffer(5 * 1024 * 1024));
  t.equal(collections, 2, 'foreign sizes count too');
  for (let i = 0; i < 20; i++) pool.give(new ArrayBuffer(0));
  t.equal(collections, 2, 'detached ones hold nothing and count nothing');
});

t.test('the real young-generation collection frees refused buffers', async (t) => {
  const collect = exposedGc('minor');
  t.not(collect, null, 'this V8 exposes gc');
  const pool = new FrameBuffers(collect);
  for (const b of Array.from({ length: 8 }, () => pool.take(1024 * 1024))) pool.give(b);
  t.equal(pool.bytes, 8 * 1024 * 1024, 'the pool full');
  const before = process.memoryUsage().arrayBuffers;
  // Made and dropped in a function of their own, so nothing on this stack holds them.
  (() => {
    for (let i = 0; i < 8; i++) pool.give(new ArrayBuffer(1024 * 1024));
  })();
  // V8 frees collected buffers' memory by a sweep that may finish just after the collection:
  // a few turns of the loop, far too few for V8 to have collected them on its own.
  const held = (): number => process.memoryUsage().arrayBuffers - before;
  for (let turn = 0; turn < 200 && held() >= 1024 * 1024; turn++) await new Promise((r) => setImmediate(r));
  t.ok(held() < 1024 * 1024, `8 MiB refused, ${(held() / 1024) | 0} KiB still held: freed by the pool's own collection`);
});

t.test('a frame encoded into a reused buffer decodes to its own head and writes only', async (t) => {
  const write = (key: string, value: number): ItemWrite => ({ keyString: key, seqno: value, prevSeqno: 0, record: Buffer.alloc(value, 0x61) });
  const encode = (writes: ItemWrite[]): { buffer: ArrayBuffer; bytes: number } => {
    const bytes = writeBatchBytes(writes);
    const buffer = new ArrayBuffer(bytes);
    encodeWriteBatch(writes, buffer);
    return { buffer, bytes };
  };
  const pool = new FrameBuffers();
  const long = Array.from({ length: 400 }, (_, i) => write(`\0\0long-${i}`, 250));
  const a = encode(long);
  const first = encodeFrame({ batch: 1, count: long.length, vbstates: [], meta: [['x', 'a long head value']] }, a.buffer, a.bytes, (n) => pool.take(n));
  pool.give(first.buffer as ArrayBuffer);
  const short = [write('\0\0short', 70_000)];
  const b = encode(short);
  const second = encodeFrame({ batch: 2, count: 1, vbstates: [], meta: [] }, b.buffer, b.bytes, (n) => pool.take(n));
  t.equal(second.buffer, first.buffer, 'the same buffer');
  t.ok(second.length < first.length, 'shorter than the frame before it in that buffer');
  const { head, writesAt } = decodeFrame(second);
  t.same(head, { batch: 2, count: 1, vbstates: [], meta: [] });
  const decoded = [...decodeWriteBatch(second.buffer, head.count, writesAt)];
  t.equal(decoded.length, 1);
  t.equal(decoded[0].itemKey.toString('latin1'), '\0\0short');
  t.equal(decoded[0].seqno, 70_000);
  t.ok(decoded[0].record?.equals(Buffer.alloc(70_000, 0x61)), 'its record, not the longer frame\'s bytes');
});
