/**
 * `npm run bench:tls`: what TLS (-Z) costs. Four servers stay up through the run: lmcached
 * and Debian's memcached, each plain and with -Z on a certificate made here with openssl, all
 * prefilled, measured in alternating rounds (on a shared 2-core VM only runs close in time
 * compare). Reports, as medians of per-round ratios: lmcached TLS / plain, memcached TLS /
 * plain, and lmcached / memcached with and without TLS.
 *
 * Load: memtier_benchmark (--protocol=memcache_binary, --tls) from $MEMTIER or PATH, else
 * bench/load.ts over node:tls. Environment: BENCH_SECONDS (5), BENCH_ROUNDS (6),
 * BENCH_CLIENTS (50), BENCH_KEYS (100000), BENCH_PIPELINE (1).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './load.js';
import { startLmcached, startMemcached, type RunningServer } from './servers.js';
import { median } from './median.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 6));
const clients = Number(process.env.BENCH_CLIENTS ?? 50);
const keys = Number(process.env.BENCH_KEYS ?? 100_000);
const pipeline = Number(process.env.BENCH_PIPELINE ?? 1);

/** A self-signed certificate for 127.0.0.1, made for this run only. */
function makeCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'bench.crt');
  const key = join(dir, 'bench.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert, key };
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

interface Load {
  tool: string;
  command(tls: boolean): string;
  run(port: number, tls: boolean): Promise<number>;
  prefill(port: number, tls: boolean): Promise<void>;
}

function memtierArgs(port: number, tls: boolean, extra: string[]): string[] {
  return ['-s', '127.0.0.1', '-p', String(port), '--protocol=memcache_binary', '--threads=1', `--clients=${clients}`, '-d', '100', `--key-maximum=${keys}`, '--hide-histogram', ...(tls ? ['--tls', '--tls-skip-verify'] : []), ...extra];
}

function chooseLoad(): Load {
  const memtier = process.env.MEMTIER ?? which('memtier_benchmark');
  if (memtier !== null) {
    const mix = ['--ratio=1:9', `--test-time=${seconds}`, `--pipeline=${pipeline}`];
    const run = (port: number, tls: boolean, extra: string[]): number => {
      const r = spawnSync(memtier, memtierArgs(port, tls, extra), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const line = r.stdout.split('\n').find((l) => l.startsWith('Totals'));
      if (line === undefined) throw new Error(`memtier printed no Totals line:\n${r.stdout}\n${r.stderr}`);
      return Number(line.split(/\s+/)[1]);
    };
    return {
      tool: 'memtier_benchmark',
      command: (tls) => [memtier, ...memtierArgs(0, tls, mix)].join(' ').replace('-p 0', '-p PORT'),
      run: (port, tls) => Promise.resolve(run(port, tls, mix)),
      prefill: (port, tls) => Promise.resolve(void run(port, tls, ['--ratio=1:0', '--key-pattern=P:P', `--requests=${Math.ceil(keys / clients)}`])),
    };
  }
  return {
    tool: 'bench/load.ts',
    command: (tls) => `bench/load.ts connections=${clients} seconds=${seconds} keys=${keys} value=100B 90% get pipeline=${pipeline}${tls ? ' tls' : ''}`,
    run: async (port, tls) => (await runLoad({ host: '127.0.0.1', port, connections: clients, seconds, setRatio: 0.1, keyMaximum: keys, valueSize: 100, pipeline, tls })).opsPerSec,
    prefill: async (port, tls) => void (await runLoad({ host: '127.0.0.1', port, connections: clients, seconds: 3600, setRatio: 1, keyMaximum: keys, valueSize: 100, pipeline: 1, prefill: true, tls })),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-bench-tls-'));
  const { cert, key } = makeCertificate(dir);
  const tlsFlags = ['-Z', '-o', `ssl_chain_cert=${cert},ssl_key=${key}`];
  const load = chooseLoad();
  const servers: Array<{ label: string; server: RunningServer; tls: boolean }> = [];
  try {
    servers.push({ label: 'memcached', server: await startMemcached(1), tls: false });
    servers.push({ label: 'lmcached', server: await startLmcached('memory'), tls: false });
    servers.push({ label: 'memcached -Z', server: await startMemcached(1, tlsFlags), tls: true });
    servers.push({ label: 'lmcached -Z', server: await startLmcached('memory', undefined, tlsFlags), tls: true });
    for (const s of servers) await load.prefill(s.server.port, s.tls);
    console.log(`# TLS on and off — ${load.tool}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}`);
    console.log(`\n90% get / 10% set, 100-byte values, ${clients} connections, pipeline ${pipeline}, ${rounds} alternating rounds of ${seconds} s\n`);
    console.log('| round | memcached | lmcached | memcached -Z | lmcached -Z |');
    console.log('|---:|---:|---:|---:|---:|');
    const ratios = { lmTls: [] as number[], mcTls: [] as number[], plain: [] as number[], tls: [] as number[] };
    for (let round = 1; round <= rounds; round++) {
      const ops: number[] = [];
      for (const s of servers) ops.push(await load.run(s.server.port, s.tls));
      const [mc, lm, mcZ, lmZ] = ops;
      ratios.lmTls.push(lmZ / lm);
      ratios.mcTls.push(mcZ / mc);
      ratios.plain.push(lm / mc);
      ratios.tls.push(lmZ / mcZ);
      console.log(`| ${round} | ${ops.map((n) => Math.round(n)).join(' | ')} |`);
    }
    console.log('\n| ratio (median of rounds) | value |');
    console.log('|---|---:|');
    console.log(`| lmcached: TLS / plain | **${median(ratios.lmTls).toFixed(2)}** |`);
    console.log(`| memcached: TLS / plain | ${median(ratios.mcTls).toFixed(2)} |`);
    console.log(`| lmcached / memcached, plain | ${median(ratios.plain).toFixed(2)} |`);
    console.log(`| lmcached / memcached, both -Z | ${median(ratios.tls).toFixed(2)} |`);
    console.log(`\ncommands: \`${load.command(false)}\`, and the same with \`${load.tool === 'memtier_benchmark' ? '--tls --tls-skip-verify' : 'tls'}\` against the -Z servers`);
  } finally {
    for (const s of servers) await s.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
