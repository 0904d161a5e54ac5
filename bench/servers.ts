/**
 * Starts the two servers a benchmark compares: Debian's memcached and lmcached, each on a free
 * loopback port, and stops them afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

/** `more`: more flags (-Z and its -o options for TLS). */
export async function startMemcached(threads = 1, more: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const args = ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-t', String(threads), '-m', '1024', ...more];
  if (process.getuid?.() === 0) args.push('-u', 'root');
  const proc = spawn(process.env.MEMCACHED ?? 'memcached', args, { stdio: 'ignore' });
  await waitForPort(port, proc);
  return { name: `memcached -t ${threads}${more.length > 0 ? ` ${more[0]}` : ''}`, port, pid: proc.pid, stop: stopper(proc) };
}

/** `cli`: another build's build/lib/cli.js, to compare two builds (BENCH_VERSUS); `args`: more
 * flags (--replica-of for a replica). */
export async function startLmcached(ack: 'memory' | 'persist' = 'memory', cli = resolve(import.meta.dirname, '../lib/cli.js'), args: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'lmcached-bench-'));
  // BENCH_LMCACHED_ARGS: more flags for lmcached, e.g. "--helper-nice 19".
  const extra = [...(process.env.BENCH_LMCACHED_ARGS ?? '').split(' ').filter((a) => a.length > 0), ...args];
  // BENCH_NODE_ARGS: Node flags for the lmcached processes, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a.length > 0);
  const proc = spawn(process.execPath, [...nodeArgs, cli, '-p', String(port), '--data-dir', dataDir, '--ack', ack, ...extra], { stdio: 'ignore' });
  await waitForPort(port, proc);
  const build = cli === resolve(import.meta.dirname, '../lib/cli.js') ? '' : ` (${cli})`;
  return { name: `lmcached${build} --ack=${ack}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}`, port, dataDir, pid: proc.pid, stop: stopper(proc, () => rmSync(dataDir, { recursive: true, force: true })) };
}
