/**
 * `npm run bench:alloc`: heap bytes allocated and promoted per request, per thread (the event
 * loop, the log and apply threads), for GET-only, SET-only and 90/10 loads, pipelined or not.
 *
 * Why: on the project's shared 2-core VMs CPU time per request moves by a third from one run to
 * the next, so a change of a few per cent cannot be seen there; the bytes V8 allocates per
 * request are the same from run to run, and what is allocated (and above all what lives long
 * enough to be promoted to the old generation) is what the garbage collector costs later, in
 * scavenges, marking on the helper threads and the p99.9's pauses.
 *
 * How: lmcached runs with `--trace-gc-nvp`, which prints for every collection of every isolate
 * the bytes allocated since the previous one and the bytes promoted; a prefill writes every
 * key first (unmeasured), then the load runs (our own generator, bench/load.ts) and the
 * collections during it are summed and divided by its requests. A collection straddling the
 * load's start or end counts whole, so figures are good to a young generation's size over
 * the requests (BENCH_SECONDS, default 5, keeps that small).
 *
 * BENCH_MODES (get,set,mix), BENCH_PIPELINE (default 1,16), BENCH_VERSUS (another build's
 * build/lib/cli.js, measured the same way after this one).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runLoad } from './load.js';
import { freePort } from './servers.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const KEYS = 100_000;
const CONNECTIONS = 50;
const MODES: Record<string, number> = { get: 0, set: 1, mix: 0.1 };
const modes = (process.env.BENCH_MODES ?? 'get,set,mix').split(',').filter((m) => m in MODES);
const pipelines = (process.env.BENCH_PIPELINE ?? '1,16').split(',').map(Number).filter((p) => p > 0);
const own = resolve(import.meta.dirname, '../lib/cli.js');
const builds = [own, ...(process.env.BENCH_VERSUS ? [process.env.BENCH_VERSUS] : [])];

interface Collection {
  isolate: string;
  allocated: number;
  promoted: number;
  kind: string;
  pauseMs: number;
}

/** One line of --trace-gc-nvp: `[pid:isolate] N ms: pause=… gc=s … allocated=… promoted=…`. */
function parse(line: string): Collection | null {
  const iso = /^\[\d+:(0x[0-9a-f]+)\]/.exec(line);
  const allocated = /\ballocated=(\d+)/.exec(line);
  const promoted = /\bpromoted=(\d+)/.exec(line);
  const kind = /\bgc=(\w+)/.exec(line);
  const pause = /\bpause=([\d.]+)/.exec(line);
  if (!iso || !allocated || !promoted || !kind || !pause) return null;
  // A full collection's `allocated` is a difference of heap sizes, printed unsigned: when the
  // heap shrank it is a huge number, not an allocation. The young generation's share of it is
  // small next to the scavenges' sum.
  const bytes = Number(allocated[1]);
  return { isolate: iso[1], allocated: bytes < 2 ** 32 ? bytes : 0, promoted: Number(promoted[1]), kind: kind[1], pauseMs: Number(pause[1]) };
}

async function measure(cli: string, setRatio: number, pipeline: number): Promise<{ ops: number; perIsolate: Map<string, { allocated: number; promoted: number; scavenges: number; markCompacts: number; pauseMs: number }> }> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'lmcached-alloc-'));
  const proc = spawn(process.execPath, ['--trace-gc-nvp', cli, '-p', String(port), '--data-dir', dataDir, '--ack', 'memory'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let measuring = false;
  const seen: Collection[] = [];
  let partial = '';
  proc.stdout.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    if (!measuring) return;
    for (const l of lines) {
      const c = parse(l);
      if (c) seen.push(c);
    }
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    for (let i = 0; i < 200 && !/warmup: complete/.test(stderr); i++) await new Promise((r) => setTimeout(r, 50));
    await runLoad({ host: '127.0.0.1', port, connections: CONNECTIONS, seconds: 3600, setRatio: 1, keyMaximum: KEYS, valueSize: 100, pipeline: 16, prefill: true });
    await new Promise((r) => setTimeout(r, 500));
    measuring = true;
    const r = await runLoad({ host: '127.0.0.1', port, connections: CONNECTIONS, seconds: SECONDS, setRatio, keyMaximum: KEYS, valueSize: 100, pipeline });
    measuring = false;
    const perIsolate = new Map<string, { allocated: number; promoted: number; scavenges: number; markCompacts: number; pauseMs: number }>();
    for (const c of seen) {
      const s = perIsolate.get(c.isolate) ?? { allocated: 0, promoted: 0, scavenges: 0, markCompacts: 0, pauseMs: 0 };
      s.allocated += c.allocated;
      s.promoted += c.promoted;
      if (c.kind === 's') s.scavenges++;
      else s.markCompacts++;
      s.pauseMs += c.pauseMs;
      perIsolate.set(c.isolate, s);
    }
    return { ops: r.ops, perIsolate };
  } finally {
    const exited = new Promise((res) => proc.once('exit', res));
    proc.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`# Heap bytes per request (--trace-gc-nvp): ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}`);
console.log(`# ${CONNECTIONS} connections, ${KEYS} keys prefilled, 100-byte values, ${SECONDS} s per load; helper 1 and 2: the log and apply threads' isolates`);
console.log('\n| build | load | pipeline | requests | thread | allocated B/req | promoted B/req | scavenges | mark-compacts | pauses ms |');
console.log('|---|---|---:|---:|---|---:|---:|---:|---:|---:|');
for (const mode of modes) {
  for (const pipeline of pipelines) {
    for (const cli of builds) {
      const { ops, perIsolate } = await measure(cli, MODES[mode], pipeline);
      // The event loop's isolate was allocated first, by the main thread, from the low
      // addresses of glibc's main arena; the log and apply threads' isolates from their own
      // arenas (0x7f…).
      const rows = [...perIsolate].sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1)).map(([, s]) => s);
      rows.forEach((s, i) => {
        const thread = i === 0 ? 'event loop' : `helper ${i}`;
        console.log(`| ${cli === own ? 'this' : cli} | ${mode} | ${pipeline} | ${ops} | ${thread} | ${(s.allocated / ops).toFixed(0)} | ${(s.promoted / ops).toFixed(0)} | ${s.scavenges} | ${s.markCompacts} | ${s.pauseMs.toFixed(0)} |`);
      });
    }
  }
}
