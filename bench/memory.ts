/**
 * `npm run bench:memory`: what each server's process holds in memory for the same items, side
 * by side: Debian's memcached and lmcached (--ack=memory) each get BENCH_ITEMS (default 1M)
 * SETs of 100-byte values over a pipelined binary connection; once lmcached has committed
 * them all, the resident set of each process is read from /proc/<pid>/status: anonymous memory
 * (the heap: what the target compares) and file pages (LMDB's map, which the kernel
 * may drop and read again). Bytes per item are the growth over the idle process.
 *
 * BENCH_VERSUS=<another build's build/lib/cli.js> measures that build too, in the same run.
 * Each server is read right after the load and again after BENCH_IDLE_SECONDS (30) with no
 * requests: V8 gives back heap it grew during the load only once the process is idle.
 *
 * Scenarios (BENCH_MEMORY=resident,ejecting):
 * - resident: lmcached's -m holds every item (memcached -m 4096 holds them too);
 * - ejecting: 10x the items (BENCH_ITEMS_EJECTING, default 10M) with lmcached -m 256: the
 *   resident table stays at its quota and LMDB serves the rest; a sample of reads checks that
 *   every item is still there.
 *
 * BENCH_KEY_PREFIX (default "key-") goes before each item's 10-digit number: a prefix of 9 or
 * more characters makes keys too long for lmcached's buckets (more than 18 bytes), kept in
 * its key arena instead.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest, storeExtras } from '../protocol/request-encoder.js';
import { startLmcached, startMemcached, type RunningServer } from './servers.js';

const VALUE = Buffer.alloc(100, 0x61);
const BATCH = 2000;
const KEY_PREFIX = process.env.BENCH_KEY_PREFIX ?? 'key-';
const key = (i: number): string => `${KEY_PREFIX}${String(i).padStart(10, '0')}`;

interface Memory {
  anon: number;
  file: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/** A binary connection that sends batches of quiet requests ended by a NOOP and counts the
 * non-success replies the quiet ones produce. */
class Pipe {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  errors = 0;
  hits = 0;
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = this.buffered.length === 0 ? d : Buffer.concat([this.buffered, d]);
      while (this.buffered.length >= 24) {
        const total = 24 + this.buffered.readUInt32BE(8);
        if (this.buffered.length < total) break;
        const opcode = this.buffered[1];
        const status = this.buffered.readUInt16BE(6);
        this.buffered = this.buffered.subarray(total);
        if (opcode === OP.NOOP) {
          const w = this.waiter;
          this.waiter = null;
          w?.();
        } else if (status === 0) this.hits++;
        else this.errors++;
      }
    });
  }

  static open(port: number): Promise<Pipe> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Pipe(s)));
      s.once('error', reject);
    });
  }

  send(frames: Buffer[]): Promise<void> {
    frames.push(encodeRequest({ opcode: OP.NOOP }));
    return new Promise((resolve) => {
      this.waiter = resolve;
      this.socket.write(Buffer.concat(frames));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

async function fill(port: number, items: number): Promise<void> {
  const pipe = await Pipe.open(port);
  const extras = storeExtras(0, 0);
  for (let i = 0; i < items; i += BATCH) {
    const frames: Buffer[] = [];
    for (let j = i; j < Math.min(items, i + BATCH); j++) frames.push(encodeRequest({ opcode: OP.SETQ, key: key(j), extras, value: VALUE }));
    await pipe.send(frames);
  }
  pipe.close();
  if (pipe.errors > 0) throw new Error(`${pipe.errors} SETs failed`);
}

/** GETK of `sample` keys spread over all items: how many are found. */
async function sampleHits(port: number, items: number, sample: number): Promise<number> {
  const pipe = await Pipe.open(port);
  const frames: Buffer[] = [];
  for (let s = 0; s < sample; s++) frames.push(encodeRequest({ opcode: OP.GETKQ, key: key(Math.floor((s * items) / sample)) }));
  await pipe.send(frames);
  pipe.close();
  return pipe.hits;
}

async function stat(port: number, name: string): Promise<number> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  let got = '';
  s.on('data', (d: Buffer) => (got += d.toString('latin1')));
  s.write('stats\r\n');
  while (!got.endsWith('END\r\n')) await new Promise((r) => setTimeout(r, 10));
  s.destroy();
  return Number(new RegExp(`STAT ${name} (\\d+)`).exec(got)?.[1] ?? NaN);
}

interface Measured {
  idle: Memory;
  full: Memory;
  rest: Memory;
  hits: number;
  /** lmcached's idle heap collections (stat heap_compactions) by the second reading. */
  collections?: number;
}

const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);

async function measure(server: RunningServer, items: number, lmcached: boolean): Promise<Measured> {
  const pid = server.pid as number;
  await new Promise((r) => setTimeout(r, 500));
  const idle = memoryOf(pid);
  await fill(server.port, items);
  if (lmcached) {
    // Everything committed: no write held in memory only for the flusher.
    while ((await stat(server.port, 'unpersisted_bytes')) > 0) await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const full = memoryOf(pid);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const rest = memoryOf(pid);
  const collections = lmcached ? await stat(server.port, 'heap_compactions') : undefined;
  const sample = 10_000;
  const hits = await sampleHits(server.port, items, sample);
  return { idle, full, rest, hits: hits / sample, collections };
}

const mb = (b: number): string => (b / 1024 / 1024).toFixed(0);

async function scenario(name: string, items: number, lmArgs: string[]): Promise<void> {
  const rows: Array<[string, Measured]> = [];
  const mc = await startMemcached(1, ['-m', '4096']);
  rows.push(['memcached -t 1 -m 4096', await measure(mc, items, false)]);
  await mc.stop();
  const lm = await startLmcached('memory', undefined, lmArgs);
  rows.push(['lmcached --ack=memory', await measure(lm, items, true)]);
  await lm.stop();
  const versus = process.env.BENCH_VERSUS;
  if (versus !== undefined) {
    const other = await startLmcached('memory', versus, lmArgs);
    rows.push([`lmcached (${versus})`, await measure(other, items, true)]);
    await other.stop();
  }
  const m = rows[0][1];
  const perItem = (x: Measured): number => (x.full.anon - x.idle.anon) / items;
  console.log(`\n${name}: ${items.toLocaleString('en')} items of 100 bytes, keys of ${key(0).length} bytes; lmcached ${lmArgs.join(' ')}`);
  console.log(`| server | RSS anon MB | / memcached | after ${IDLE_SECONDS} s idle | / memcached | RSS file MB | anon bytes/item (growth) | items found (sample) | idle collections |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [label, r] of rows) {
    console.log(`| ${label} | ${mb(r.full.anon)} | ${(r.full.anon / m.full.anon).toFixed(2)} | ${mb(r.rest.anon)} | ${(r.rest.anon / m.rest.anon).toFixed(2)} | ${mb(r.full.file)} | ${perItem(r).toFixed(0)} | ${(r.hits * 100).toFixed(1)}% | ${r.collections ?? '-'} |`);
  }
}

const scenarios = (process.env.BENCH_MEMORY ?? 'resident').split(',');
console.log(`machine: ${cpus().length} cores, ${cpus()[0]?.model ?? ''}`);
if (scenarios.includes('resident')) await scenario('resident', Number(process.env.BENCH_ITEMS ?? 1_000_000), ['-m', '2048']);
if (scenarios.includes('ejecting')) await scenario('ejecting', Number(process.env.BENCH_ITEMS_EJECTING ?? 10_000_000), ['-m', '256']);
