/**
 * Warmup time against data-set size: fills a data directory with N items (default 1M, 100-byte
 * values) through the server, stops it with SIGKILL (unclean) and then SIGTERM (clean),
 * restarting each time, and reports the time until traffic is served and until warmup
 * completes, as the server's own warmup log line states them. `npm run bench:warmup [-- items]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runLoad } from './load.js';
import { freePort } from './servers.js';

const items = Number(process.argv[2] ?? 1_000_000);
const cli = resolve(import.meta.dirname, '../lib/cli.js');

interface Started {
  port: number;
  stop(signal: NodeJS.Signals): Promise<void>;
  log(): string;
  ready: Promise<void>;
}

async function start(dataDir: string): Promise<Started> {
  const port = await freePort();
  const proc = spawn(process.execPath, [cli, '-p', String(port), '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise<void>((res, rej) => {
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (/warmup: complete in/.test(log)) res();
    });
    proc.once('exit', () => rej(new Error(`server exited:\n${log}`)));
  });
  ready.catch(() => {});
  return {
    port,
    ready,
    log: () => log,
    stop: (signal) => new Promise((res) => (proc.once('exit', () => res()), proc.kill(signal))),
  };
}

function figures(log: string): { traffic: number; complete: number; scanned: number; expired: number } {
  const m = /warmup: complete in (\d+) ms \(traffic after (\d+) ms\); (\d+) items scanned, (\d+) expired/.exec(log);
  if (!m) throw new Error(`no warmup summary in:\n${log}`);
  return { complete: Number(m[1]), traffic: Number(m[2]), scanned: Number(m[3]), expired: Number(m[4]) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-warmup-'));
  try {
    let current = await start(dir);
    await current.ready;
    const t0 = Date.now();
    await runLoad({ host: '127.0.0.1', port: current.port, connections: 8, seconds: 3600, setRatio: 1, keyMaximum: items, valueSize: 100, pipeline: 32, prefill: true });
    console.log(`filled ${items} items in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, 500)); // let the last batch commit
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      const before = Date.now();
      await current.stop(signal);
      current = await start(dir);
      await current.ready;
      const f = figures(current.log());
      console.log(`| ${items} | after ${signal} | ${f.traffic} ms | ${f.complete} ms | ${f.scanned} | (process restart to complete: ${Date.now() - before} ms)`);
    }
    await current.stop('SIGTERM');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
