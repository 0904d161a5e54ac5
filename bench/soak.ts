/**
 * `npm run bench:soak`: a long mixed load with change-stream consumers, to show that memory
 * and disk stay bounded and nothing acknowledged is lost. For `SOAK_SECONDS` (default 600):
 * a 90/10 load over 100k keys (memtier_benchmark from $MEMTIER or PATH, else bench/load.ts),
 * two `lmcached tail` consumers (one slow: its output is read 4 KB a second, so its socket
 * backs up) SIGKILLed and restarted every `SOAK_KILL_EVERY` seconds (60), and two checked
 * writers storing unique keys; `SOAK_ARGS` adds server flags. Every 30 s: the server's RSS
 * (anonymous and file-backed) and data.mdb's size. At the end
 * the server is stopped cleanly, restarted, and every acknowledged key is read back.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkedWriter, missingKeys } from './checked-writes.js';
import { runLoad } from './load.js';
import { freePort } from './servers.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 600);
const KILL_EVERY = Number(process.env.SOAK_KILL_EVERY ?? 60);
const CLI = resolve(import.meta.dirname, '../lib/cli.js');
/** More server flags, e.g. "-m 8" for a resident table that fills early. */
const SERVER_ARGS = (process.env.SOAK_ARGS ?? '').split(' ').filter((a) => a.length > 0);

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [CLI, '-p', String(port), '--data-dir', dataDir, ...SERVER_ARGS], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((res, rej) => {
    let log = '';
    proc.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      if (/warmup: complete/.test(log)) res();
    });
    proc.once('exit', () => rej(new Error(log)));
  });
  return proc;
}

/** Resident memory in MB: anonymous (the process's own), and file-backed (mostly LMDB's
 * mapped data file, page cache the kernel reclaims under pressure). */
function rssMb(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
}

/** A `lmcached tail` process; a slow one has its output read 4 KB a second. */
function consumer(port: number, slow: boolean): ChildProcess {
  const proc = spawn(process.execPath, [CLI, 'tail', '--port', String(port), '--vbucket', '0'], { stdio: ['ignore', 'pipe', 'ignore'] });
  if (slow) {
    proc.stdout?.pause();
    const timer = setInterval(() => proc.stdout?.read(4096), 1000);
    proc.once('exit', () => clearInterval(timer));
  } else {
    proc.stdout?.resume();
  }
  return proc;
}

const dir = mkdtempSync(join(tmpdir(), 'lmcached-soak-'));
const port = await freePort();
let server = await startServer(dir, port);
const memtier = process.env.MEMTIER ?? which('memtier_benchmark');
console.log(`# soak: ${SECONDS} s, load from ${memtier ?? 'bench/load.ts'}, consumers killed every ${KILL_EVERY} s, server flags: ${SERVER_ARGS.join(' ') || '(defaults)'}; ${cpus().length} cores, ${new Date().toISOString()}`);
console.log('| t (s) | RSS anonymous (MB) | RSS file-backed (MB) | data.mdb (MB) |\n|---:|---:|---:|---:|');
const sample = (t: number): void => {
  const r = rssMb(server.pid as number);
  console.log(`| ${t} | ${r.anon.toFixed(0)} | ${r.file.toFixed(0)} | ${(statSync(join(dir, 'data.mdb')).size / 1048576).toFixed(0)} |`);
};
sample(0);

const load: Promise<unknown> = memtier
  ? new Promise((r) => spawn(memtier, ['-s', '127.0.0.1', '-p', String(port), '--protocol=memcache_binary', '--threads=1', '--clients=20', '--ratio=1:9', '-d', '100', '--key-maximum=100000', `--test-time=${SECONDS}`, '--hide-histogram'], { stdio: 'ignore' }).once('exit', r))
  : runLoad({ host: '127.0.0.1', port, connections: 20, seconds: SECONDS, setRatio: 0.1, keyMaximum: 100_000, valueSize: 100, pipeline: 1, prefill: false });
const consumers = [consumer(port, false), consumer(port, true)];
const acked: string[] = [];
const stop = { now: false };
const writers = [0, 1].map((id) => checkedWriter(port, `soak-${id}`, (key) => acked.push(key), stop, 5));
let kills = 0;
const started = Date.now();
for (let t = 30; t <= SECONDS; t += 30) {
  await new Promise((r) => setTimeout(r, started + t * 1000 - Date.now()));
  if (t % KILL_EVERY === 0) {
    for (let i = 0; i < consumers.length; i++) {
      consumers[i].kill('SIGKILL');
      consumers[i] = consumer(port, i === 1);
      kills++;
    }
  }
  sample(t);
}
stop.now = true;
await Promise.all([load, ...writers]);
for (const c of consumers) c.kill('SIGKILL');
server.kill('SIGTERM');
await new Promise((r) => server.once('exit', r));
server = await startServer(dir, port);
const present = acked.length - (await missingKeys(port, acked)).length;
console.log(`\nconsumer SIGKILL-restarts: ${kills}; checked writes acknowledged: ${acked.length}, present after a clean restart: ${present}`);
server.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
process.exit(present === acked.length ? 0 : 1);
