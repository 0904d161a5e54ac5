/**
 * `npm run bench:loss`: what a SIGKILL costs with --ack=memory. Writers on `BENCH_WRITERS`
 * connections (default 4) store unique keys one at a time and note when each was acknowledged;
 * after `BENCH_WRITE_MS` (600) the server is SIGKILLed, restarted on the same data, and every
 * acknowledged key is read back. Per round: acknowledged writes lost, and how long before the
 * kill the oldest lost one was acknowledged. Extra server flags come from `BENCH_ARGS`; an
 * optional background load (`BENCH_LOAD_CONNECTIONS`, pipelined SETs from bench/load.ts) runs
 * against the same server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkedWriter, missingKeys } from './checked-writes.js';
import { runLoad } from './load.js';
import { freePort } from './servers.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 4);
const WRITE_MS = Number(process.env.BENCH_WRITE_MS ?? 600);
const LOAD_CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 0);
const ARGS = (process.env.BENCH_ARGS ?? '').split(' ').filter((a) => a.length > 0);
const CLI = resolve(import.meta.dirname, '../lib/cli.js');

function start(dataDir: string, port: number): Promise<ReturnType<typeof spawn>> {
  const proc = spawn(process.execPath, [CLI, '-p', String(port), '--data-dir', dataDir, ...ARGS], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((res, rej) => {
    let log = '';
    proc.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (/warmup: complete/.test(log)) res(proc);
    });
    proc.once('exit', () => rej(new Error(`server exited: ${log}`)));
  });
}

/** Resolves once `proc` has exited: at once if it has already (its 'exit' event is past). */
function exited(proc: ReturnType<typeof spawn>): Promise<unknown> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((r) => proc.once('exit', r));
}

async function round(): Promise<{ acked: number; lost: number; oldestMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-loss-'));
  const port = await freePort();
  const proc = await start(dir, port);
  const acked = new Map<string, number>();
  const stop = { now: false };
  if (LOAD_CONNECTIONS > 0) {
    void runLoad({ host: '127.0.0.1', port, connections: LOAD_CONNECTIONS, seconds: WRITE_MS / 1000 + 1, setRatio: 1, keyMaximum: 1_000_000, valueSize: 100, pipeline: 16, prefill: false }).catch(() => undefined);
  }
  const writers = Array.from({ length: WRITERS }, (_, id) => checkedWriter(port, `w${id}`, (key) => acked.set(key, performance.now()), stop));
  await new Promise((r) => setTimeout(r, WRITE_MS));
  const killedAt = performance.now();
  proc.kill('SIGKILL');
  stop.now = true;
  await Promise.all(writers);
  // The writers may take longer to notice than the process takes to exit.
  await exited(proc);
  const again = await start(dir, port);
  const keys = [...acked.keys()];
  const lost = await missingKeys(port, keys);
  again.kill('SIGKILL');
  await exited(again);
  rmSync(dir, { recursive: true, force: true });
  const oldestMs = lost.length === 0 ? 0 : killedAt - Math.min(...lost.map((k) => acked.get(k) as number));
  return { acked: keys.length, lost: lost.length, oldestMs };
}

const ackMode = ARGS.includes('persist') || ARGS.includes('--ack=persist') ? 'persist' : 'memory';
console.log(`# --ack=${ackMode} loss window: ${WRITERS} writers, SIGKILL after ${WRITE_MS} ms, ${LOAD_CONNECTIONS} load connections, flags: ${ARGS.join(' ') || '(defaults)'}; ${cpus().length} cores`);
console.log('| round | acknowledged | lost | oldest lost acknowledged before the kill |\n|---:|---:|---:|---:|');
for (let r = 1; r <= ROUNDS; r++) {
  const x = await round();
  console.log(`| ${r} | ${x.acked} | ${x.lost} | ${x.lost === 0 ? '-' : `${x.oldestMs.toFixed(1)} ms`} |`);
}
process.exit(0);
