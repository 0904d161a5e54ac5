/**
 * Per-layer micro-benchmarks: framer decode, response encode, store get/put. They isolate the
 * cost of each layer from the network; run with `node build/bench/micro.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Framer } from '../protocol/framer.js';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest, storeExtras } from '../protocol/request-encoder.js';
import { ResponseWriter } from '../protocol/response-writer.js';
import { LmdbStore } from '../lib/store/lmdb-store.js';
import { encodeItemKey } from '../lib/store/key-codec.js';
import { ItemState, encodeRecord } from '../lib/store/record.js';
import { ItemCache } from '../lib/engine/item-cache.js';
import type { RecordLocation } from '../lib/engine/entry-records.js';

function timeIt(name: string, ops: number, fn: () => void): void {
  fn(); // warm up
  const t0 = process.hrtime.bigint();
  fn();
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${name.padEnd(44)} ${(ops / (ns / 1e9) / 1e6).toFixed(2).padStart(8)} M ops/s  ${(ns / ops).toFixed(0).padStart(6)} ns/op`);
}

function framerDecode(): void {
  const frames: Buffer[] = [];
  for (let i = 0; i < 1000; i++) {
    frames.push(i % 10 === 0
      ? encodeRequest({ opcode: OP.SET, key: `memtier-${i}`, extras: storeExtras(0, 0), value: Buffer.alloc(100, 1) })
      : encodeRequest({ opcode: OP.GET, key: `memtier-${i}` }));
  }
  const stream = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 4096) chunks.push(stream.subarray(i, i + 4096));
  let n = 0;
  const framer = new Framer({ frame: () => (n++, true), oversized: () => true, fault: () => {} }, { maxValueLength: 1 << 20, hardBodyCap: 1 << 30 });
  const rounds = 500;
  timeIt('framer: decode 90/10 get/set stream (4 KiB chunks)', rounds * 1000, () => {
    for (let r = 0; r < rounds; r++) for (const c of chunks) framer.push(c);
  });
  if (n === 0) throw new Error('framer decoded nothing');
}

function responseEncode(): void {
  const w = new ResponseWriter();
  const value = Buffer.alloc(100, 1);
  const n = 2_000_000;
  timeIt('response writer: GET hit with 100 B value', n, () => {
    for (let i = 0; i < n; i++) {
      w.header(OP.GET, 0, i, 12345, 4, 0, 104);
      w.u32(0);
      w.bytes(value, 0, 100);
      if ((i & 63) === 63) w.take();
    }
    w.take();
  });
}

/** A GET's lookup in the resident table: 500k keys, read in random order from one request
 * buffer, as a connection's reads are (cache misses included: the table is larger than the
 * caches). 64 bytes is memcaslap's key length (stored in the key arena), 16 memtier's. */
function residentLookups(keyLength: number): void {
  const n = 500_000;
  const cache = new ItemCache(1 << 30);
  const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: 1, seqno: 1, revSeqno: 1 }, Buffer.alloc(100, 1), 0, 100);
  const keys = Buffer.alloc(n * keyLength);
  for (let i = 0; i < n; i++) {
    const k = String(i).padStart(keyLength, 'k');
    keys.write(k, i * keyLength, 'latin1');
    cache.putClean(`\0\0${k}`, record);
  }
  const loc: RecordLocation = { buf: Buffer.alloc(0), offset: 0, length: 0, data: null };
  const request = Buffer.alloc(65536);
  const order = new Int32Array(1 << 20);
  let seed = 1;
  for (let i = 0; i < order.length; i++) order[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  timeIt(`resident table: GET lookup, ${keyLength}-byte keys`, order.length, () => {
    for (let j = 0; j < order.length; j++) {
      const at = (j & 511) * 100;
      keys.copy(request, at, order[j] * keyLength, (order[j] + 1) * keyLength);
      if (cache.locate(0, request, at, keyLength, true, loc) < 0) throw new Error('missing');
    }
  });
}

async function storeOps(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-micro-'));
  const store = new LmdbStore({ path: dir });
  const n = 200_000;
  const none = new Map();
  const keys = Array.from({ length: n }, (_, i) => {
    const k = Buffer.from(`memtier-${i}`);
    return encodeItemKey(0, k, 0, k.length);
  });
  const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: 1, seqno: 1, revSeqno: 1 }, Buffer.alloc(100, 1), 0, 100);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1000) await store.writeBatch(keys.slice(i, i + 1000).map((itemKey, j) => ({ keyString: itemKey.toString('latin1'), record, seqno: i + j + 1, prevSeqno: -1 })), none, none);
  let ns = Number(process.hrtime.bigint() - t0);
  console.log(`${'store: batched puts (1000 per commit)'.padEnd(44)} ${(n / (ns / 1e9) / 1e6).toFixed(2).padStart(8)} M ops/s  ${(ns / n).toFixed(0).padStart(6)} ns/op`);
  // A batch is committed once in the commit log; LMDB has it once the apply thread wrote it.
  await store.flushed();
  store.refreshReads();
  timeIt('store: getItem on committed data', n * 5, () => {
    for (let r = 0; r < 5; r++) for (const k of keys) if (!store.getItem(k)) throw new Error('missing');
  });
  t0 = process.hrtime.bigint();
  await store.writeBatch([{ keyString: keys[0].toString('latin1'), record, seqno: n + 1, prevSeqno: -1 }], none, none);
  ns = Number(process.hrtime.bigint() - t0);
  console.log(`${'store: one awaited single-put commit'.padEnd(44)} ${(ns / 1e6).toFixed(3).padStart(8)} ms`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

framerDecode();
responseEncode();
residentLookups(16);
residentLookups(64);
await storeOps();
