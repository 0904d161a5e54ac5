/**
 * `npm run bench:cpu`: where the CPU goes under memtier load, for memcached and lmcached in the
 * same run: each server's event loop (memcached's worker) and its other threads, the load
 * generator, and what the machine left idle, all per operation, from /proc.
 *
 * Why: throughput alone does not say what limits it. On two cores the server and memtier
 * either overlap (memcached answers each connection as it reads it, so memtier works while it
 * does) or take turns: lmcached reads every ready socket before it writes any reply (one
 * wakeup of the client per loop turn, flush-queue.ts), and memtier, an event loop too, reads
 * every reply before it sends the next requests, so each waits for the other. Taking turns,
 * ops/s is about 1 / (event loop µs + memtier µs) per operation; the last column prints that
 * bound next to what was measured, so a change to the event loop's cost per request can be
 * read straight off as the throughput it allows.
 *
 * A third server runs in the same rounds: bench/null-server.ts, a Node process that frames and
 * answers the same requests with lmcached's read-then-write turns and stores nothing. Its
 * figures are what Node's socket handling allows on the machine; lmcached's distance from it is
 * its own work per request.
 *
 * Environment: BENCH_SECONDS (6), BENCH_ROUNDS (3), BENCH_CLIENTS (20), BENCH_KEYS (1000000),
 * BENCH_LOADS (set16,mix16,mix1: SET only or 90/10, pipeline depth), MEMTIER.
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { readFileSync, readdirSync } from 'node:fs';
import { BENCH_MEMORY_MB, settle, startLmcached, startMemcached, startNullServer, type RunningServer } from './servers.js';
import { median } from './median.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const clients = Number(process.env.BENCH_CLIENTS ?? 20);
const keys = Number(process.env.BENCH_KEYS ?? 1_000_000);
const loads = (process.env.BENCH_LOADS ?? 'set16,mix16,mix1').split(',');
/** Linux's clock ticks per second for /proc times (USER_HZ). */
const TICKS = 100;

interface Split {
  opsPerSec: number;
  /** µs of CPU per operation. */
  loop: number;
  others: number;
  loadGenerator: number;
  /** Share of the machine (all cores) idle during the run. */
  idle: number;
}

/** Seconds of CPU of the thread `tid` of `pid`. */
function threadSeconds(pid: number, tid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0; // a thread that ended
  }
}

/** Per thread: seconds of CPU so far. */
function threads(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(tid, threadSeconds(pid, tid));
  return out;
}

/** The machine's idle and total jiffies (all cores). */
function machine(): { idle: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
}

function memtierArgs(memtier: string, port: number, extra: string[]): string[] {
  return [memtier, '-s', '127.0.0.1', '-p', String(port), '--protocol=memcache_binary', '--threads=1', `--clients=${clients}`, '-d', '100', `--key-maximum=${keys}`, '--hide-histogram', ...extra];
}

/** Runs memtier under a shell that prints, once it has waited for it, its children's CPU time
 * (cutime and cstime of /proc/<shell>/stat): memtier's own, since the shell ran nothing else. */
function runMemtier(cmd: string[]): { opsPerSec: number; cpuSeconds: number } {
  const r = spawnSync('sh', ['-c', '"$@"; echo "CHILDSTAT $(cat /proc/$$/stat)"', 'sh', ...cmd], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const totals = r.stdout.split('\n').find((l) => l.startsWith('Totals'));
  const stat = r.stdout.split('\n').find((l) => l.startsWith('CHILDSTAT '));
  if (totals === undefined || stat === undefined) throw new Error(`memtier printed no Totals line:\n${r.stdout}\n${r.stderr}`);
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { opsPerSec: Number(totals.split(/\s+/)[1]), cpuSeconds: (Number(f[13]) + Number(f[14])) / TICKS };
}

function measure(memtier: string, server: RunningServer, load: string): Split {
  const pid = server.pid as number;
  const m = /^(set|mix)(\d+)$/.exec(load);
  if (m === null) throw new Error(`BENCH_LOADS: unknown load ${load} (set16, mix16, mix1, ...)`);
  const extra = [`--ratio=${m[1] === 'set' ? '1:0' : '1:9'}`, `--test-time=${seconds}`, `--pipeline=${m[2]}`];
  const before = threads(pid);
  const m0 = machine();
  const run = runMemtier(memtierArgs(memtier, server.port, extra));
  const m1 = machine();
  const after = threads(pid);
  const ops = run.opsPerSec * seconds;
  let loop = 0;
  let others = 0;
  for (const [tid, s] of after) {
    const used = s - (before.get(tid) ?? 0);
    // memcached's worker is its busiest thread; lmcached's event loop is its main thread.
    if (tid === String(pid)) loop += used;
    else others += used;
  }
  if (server.name.startsWith('memcached')) {
    // The main thread only accepts; the worker serves. Count the busiest thread as the loop.
    const used = [...after].map(([tid, s]) => s - (before.get(tid) ?? 0)).sort((a, b) => b - a);
    loop = used[0];
    others = used.slice(1).reduce((a, b) => a + b, 0);
  }
  const perOp = (s: number): number => (s / ops) * 1e6;
  return { opsPerSec: run.opsPerSec, loop: perOp(loop), others: perOp(others), loadGenerator: perOp(run.cpuSeconds), idle: (m1.idle - m0.idle) / (m1.total - m0.total) };
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main(): Promise<void> {
  const memtier = process.env.MEMTIER ?? which('memtier_benchmark');
  if (memtier === null) {
    console.log('bench:cpu needs memtier_benchmark (MEMTIER=<path> or on PATH)');
    return;
  }
  console.log(`# CPU per operation: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), memtier ${clients} clients, 100-byte values, ${keys} keys, ${seconds} s runs, ${rounds} rounds alternating\n`);
  const mc = await startMemcached(1);
  const lm = await startLmcached('memory', undefined, ['-m', String(BENCH_MEMORY_MB)]);
  const nul = await startNullServer();
  const servers = [mc, nul, lm];
  try {
    for (const s of [mc, lm]) {
      runMemtier(memtierArgs(memtier, s.port, ['--ratio=1:0', '--key-pattern=P:P', `--requests=${Math.ceil(keys / clients)}`, '--pipeline=64']));
      await settle(s);
    }
    console.log('| load | server | ops/s | event loop µs/op | other threads | memtier | idle | 1/(loop+memtier) |');
    console.log('|---|---|---:|---:|---:|---:|---:|---:|');
    for (const load of loads) {
      const figures = new Map<RunningServer, Split[]>(servers.map((s) => [s, []]));
      for (let r = 0; r < rounds; r++) {
        for (const s of servers) {
          (figures.get(s) as Split[]).push(measure(memtier, s, load));
          await settle(s);
        }
      }
      for (const [s, list] of figures) {
        const md = (pick: (x: Split) => number): number => median(list.map(pick));
        const bound = 1e6 / (md((x) => x.loop) + md((x) => x.loadGenerator));
        console.log(`| ${load} | ${s.name} | ${Math.round(md((x) => x.opsPerSec))} | ${md((x) => x.loop).toFixed(2)} | ${md((x) => x.others).toFixed(2)} | ${md((x) => x.loadGenerator).toFixed(2)} | ${(md((x) => x.idle) * 100).toFixed(0)}% | ${Math.round(bound)} |`);
      }
    }
    console.log(`\nCommand: MEMTIER=<path> BENCH_ROUNDS=${rounds} BENCH_SECONDS=${seconds} npm run bench:cpu (medians of ${rounds} rounds)`);
  } finally {
    for (const s of servers) await s.stop();
  }
}

await main();
