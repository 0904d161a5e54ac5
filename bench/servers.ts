/**
 * Starts the two servers a benchmark compares: Debian's memcached and lmcached, each on a free
 * loopback port, and stops them afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface RunningServer {
  name: string;
  port: number;
  /** lmcached's data directory. */
  dataDir?: string;
  pid?: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitForPort(port: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((res) => {
      const c = net.connect(port, '127.0.0.1', () => (c.destroy(), res(true)));
      c.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${port}`);
}

/** CPU time (clock ticks) a process has used, all threads; undefined once it is gone. */
function cpuTicks(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/**
 * Waits until the server has stopped working after a run: lmcached's apply thread goes on
 * writing a pipelined run's backlog to LMDB for a while after the clients stop, on a core the
 * next run (of the other server) would otherwise share, which made whichever server ran second
 * in a round look 3-8% slower (two builds compared in both orders). Quiet is under 4%
 * of a core over half a second; gives up after 30 s.
 */
export async function settle(server: RunningServer): Promise<void> {
  if (server.pid === undefined) return;
  const windowMs = 500;
  const quietTicks = 2; // 100 ticks per second on Linux: 2 in 500 ms is 4% of a core
  let last = cpuTicks(server.pid);
  for (let waited = 0; last !== undefined && waited < 30_000; waited += windowMs) {
    await new Promise((r) => setTimeout(r, windowMs));
    const now = cpuTicks(server.pid);
    if (now === undefined || now - last < quietTicks) return;
    last = now;
  }
}

function stopper(proc: ChildProcess, cleanup?: () => void): () => Promise<void> {
  return async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    cleanup?.();
  };
}

/** memcached's item memory in the benchmarks (MB); `npm run bench` gives lmcached the same -m,
 * so that with 1M keys both hold every item (lmcached's default 64 MB would serve most reads
 * from LMDB where memcached serves them from memory). */
export const BENCH_MEMORY_MB = 1024;

/** `more`: more flags (-Z and its -o options for TLS). */
export async function startMemcached(threads = 1, more: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-t', String(threads), '-m', String(BENCH_MEMORY_MB), ...more];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const proc = spawn(process.env.MEMCACHED ?? 'memcached', args, { stdio: 'ignore' });
  await waitForPort(port, proc);
  return { name: `memcached -t ${threads}${more.length > 0 ? ` ${more[0]}` : ''}`, port, pid: proc.pid, stop: stopper(proc) };
}

/** bench/null-server.ts: Node's socket handling with nothing stored (bench:cpu's yardstick). */
export async function startNullServer(): Promise<RunningServer> {
  const port = await freePort();
  const proc = spawn(process.execPath, [resolve(import.meta.dirname, 'null-server.js'), String(port)], { stdio: 'ignore' });
  await waitForPort(port, proc);
  return { name: 'Node, nothing stored (null-server.ts)', port, pid: proc.pid, stop: stopper(proc) };
}

/** `cli`: another build's build/lib/cli.js, to compare two builds (BENCH_VERSUS); `args`: more
 * flags (--replica-of for a replica); `nodeFlags`: Node's flags, BENCH_NODE_ARGS's when not given. */
export async function startLmcached(ack: 'memory' | 'persist' = 'memory', cli = resolve(import.meta.dirname, '../lib/cli.js'), args: string[] = [], nodeFlags?: string): Promise<RunningServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'lmcached-bench-'));
  // BENCH_LMCACHED_ARGS: more flags for lmcached, e.g. "--helper-nice 19"; after `args`, so they win.
  const extra = [...args, ...(process.env.BENCH_LMCACHED_ARGS ?? '').split(' ').filter((a) => a.length > 0)];
  // BENCH_NODE_ARGS: Node flags for the lmcached processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = (nodeFlags ?? process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
  const proc = spawn(process.execPath, [...nodeArgs, cli, '-p', String(port), '--data-dir', dataDir, '--ack', ack, ...extra], { stdio: 'ignore' });
  await waitForPort(port, proc);
  const build = cli === resolve(import.meta.dirname, '../lib/cli.js') ? '' : ` (${cli})`;
  return { name: `lmcached${build} --ack=${ack}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}`, port, dataDir, pid: proc.pid, stop: stopper(proc, () => rmSync(dataDir, { recursive: true, force: true })) };
}
