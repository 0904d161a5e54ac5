/**
 * What persisting a write costs, by batch size, through the store (LmdbStore: the batch encoded
 * on this thread, logged by the log thread, written to LMDB by the apply thread):
 * - "LMDB commit per batch": each batch awaited into LMDB (writeBatch, then flushed(), which
 *   applies it at once): what a commit cost before the commit log, one LMDB transaction each.
 * - "store: commit log, apply behind": each batch awaited until committed (in the log, fsync'd:
 *   what an acknowledgement waits for), LMDB applying behind it; the clock stops once all of it
 *   is in LMDB too, so the figure is the sustained rate.
 * - "commit log alone, fsync per batch": CommitLog.append + sync on this thread, the floor.
 * Random overwrites of BENCH_KEYS keys (100,000) already on disk, 100-byte values, as
 * memtier's SET-only load makes them.
 *
 * Per mode and batch size: writes per second with one batch in flight (as the flusher has),
 * the mean time a batch takes, and the CPU of the whole process (every thread, user + system)
 * per write. Run with `npm run bench:commit`; BENCH_BATCHES (e.g. "100,600,2000,10000"),
 * BENCH_WRITES (writes per measurement, 120,000), BENCH_KEYS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitLog } from '../lib/store/commit-log.js';
import { LmdbStore } from '../lib/store/lmdb-store.js';
import { ItemState, encodeRecord } from '../lib/store/record.js';
import type { ItemWrite } from '../lib/store/store.js';
import { encodeWriteBatch, writeBatchBytes } from '../lib/store/write-batch-codec.js';

const keyCount = Number(process.env.BENCH_KEYS ?? 100_000);
const totalWrites = Number(process.env.BENCH_WRITES ?? 120_000);
const batchSizes = (process.env.BENCH_BATCHES ?? '100,600,2000,10000').split(',').map(Number);
const none = new Map<never, never>();

const keyStrings = Array.from({ length: keyCount }, (_, i) => `\u0000\u0000memtier-${i}`);
const lastSeqno = new Float64Array(keyCount);
let seqno = 0;

function record(s: number): Buffer {
  return encodeRecord({ state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: s, seqno: s, revSeqno: 1 }, Buffer.alloc(100, s & 0xff), 0, 100);
}

/** `n` overwrites of random keys, each with the seqno its key had before (as the flusher knows it). */
function randomBatch(n: number): ItemWrite[] {
  const out: ItemWrite[] = [];
  for (let i = 0; i < n; i++) {
    const k = Math.floor(Math.random() * keyCount);
    seqno++;
    out.push({ keyString: keyStrings[k], record: record(seqno), seqno, prevSeqno: lastSeqno[k] });
    lastSeqno[k] = seqno;
  }
  return out;
}

interface Figures {
  writesPerSec: number;
  batchMs: number;
  cpuUsPerWrite: number;
}

async function measure(batch: number, commit: (writes: ItemWrite[]) => Promise<unknown> | void, finish: () => Promise<unknown> | void): Promise<Figures> {
  const rounds = Math.max(1, Math.round(totalWrites / batch));
  const batches = Array.from({ length: rounds }, () => randomBatch(batch));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const b of batches) await commit(b);
  await finish();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const n = rounds * batch;
  return { writesPerSec: (n / ms) * 1000, batchMs: ms / rounds, cpuUsPerWrite: (cpu.user + cpu.system) / n };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-commit-cost-'));
  const store = new LmdbStore({ path: dir });
  for (let i = 0; i < keyCount; i += 10_000) {
    const writes: ItemWrite[] = [];
    for (let k = i; k < Math.min(i + 10_000, keyCount); k++) {
      seqno++;
      writes.push({ keyString: keyStrings[k], record: record(seqno), seqno, prevSeqno: 0 });
      lastSeqno[k] = seqno;
    }
    await store.writeBatch(writes, none, none);
  }
  await store.flushed();
  const log = CommitLog.open(join(dir, 'bench.log'));
  let buffer = new ArrayBuffer(1 << 20);
  const append = (writes: ItemWrite[]): void => {
    const bytes = writeBatchBytes(writes);
    if (buffer.byteLength < bytes) buffer = new ArrayBuffer(bytes * 2);
    encodeWriteBatch(writes, buffer);
    log.append(new Uint8Array(buffer), bytes);
    log.sync();
    if (log.bytes > 256 * 1024 * 1024) log.truncate();
  };
  const nothing = (): void => undefined;
  const modes: Array<[string, (w: ItemWrite[]) => Promise<unknown> | void, () => Promise<unknown> | void]> = [
    ['LMDB commit per batch', async (w) => (await store.writeBatch(w, none, none), await store.flushed()), nothing],
    ['store: commit log, apply behind', (w) => store.writeBatch(w, none, none), () => store.flushed()],
    ['commit log alone, fsync per batch', (w) => append(w), nothing],
  ];
  console.log(`# commit cost — ${keyCount} keys, 100-byte values, random overwrites; ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}`);
  console.log('| mode | batch | writes/s | ms per batch | CPU µs per write |');
  console.log('|---|---:|---:|---:|---:|');
  for (const batch of batchSizes) {
    for (const [name, commit, finish] of modes) {
      const f = await measure(batch, commit, finish);
      console.log(`| ${name} | ${batch} | ${Math.round(f.writesPerSec).toLocaleString('en-US')} | ${f.batchMs.toFixed(2)} | ${f.cpuUsPerWrite.toFixed(1)} |`);
    }
  }
  log.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
