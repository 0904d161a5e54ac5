/**
 * `npm run bench`: the same load against Debian's memcached and lmcached in one run, printed
 * side by side with the ratio. Uses memtier_benchmark (--protocol=memcache_binary) from $MEMTIER
 * or PATH; else Debian's memcaslap -B; else lmcached's own load generator.
 *
 * Both servers stay up (prefilled once) and are measured in short alternating runs, and the
 * median of the per-round ratios is reported: on a shared 2-core VM the machine's speed drifts
 * by a third over tens of seconds, so only runs close together in time compare.
 *
 * Environment: BENCH_SECONDS per run (default 5), BENCH_ROUNDS (8), BENCH_CLIENTS (50),
 * BENCH_KEYS (100000), BENCH_PIPELINE (runs a pipelined pass too, default 16; 0 to skip),
 * BENCH_ACK (memory), BENCH_RATIO (memtier's sets:gets, default 1:9; 1:0 is SET only), BENCH_PROTOCOL (memtier's: memcache_binary, or memcache_text), BENCH_LMCACHED_ARGS (more lmcached flags, e.g. "--helper-nice 19"),
 * BENCH_VERSUS (another build's build/lib/cli.js: it replaces memcached as the yardstick, to
 * find a regression between two builds; BENCH_VERSUS=. is this build, BENCH_VERSUS_ARGS and
 * BENCH_VERSUS_NODE_ARGS its flags and Node flags), BENCH_NULL=1 (a third server in every round:
 * bench/null-server.ts, Node's socket handling with nothing stored, to show how near
 * memcached a Node process can come under the same load at all).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { runLoad } from './load.js';
import { BENCH_MEMORY_MB, settle, startLmcached, startMemcached, startNullServer, type RunningServer } from './servers.js';
import { median } from './median.js';

interface Figures {
  opsPerSec: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
}

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const clients = Number(process.env.BENCH_CLIENTS ?? 50);
const keys = Number(process.env.BENCH_KEYS ?? 100_000);
const pipeline = Number(process.env.BENCH_PIPELINE ?? 16);
const ack = process.env.BENCH_ACK === 'persist' ? 'persist' : 'memory';
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 8));
const versus = process.env.BENCH_VERSUS;
const withNull = process.env.BENCH_NULL === '1';
/** memtier's protocol: memcache_binary (default) or memcache_text (BENCH_PROTOCOL); `meta`
 * runs our own load generator with meta commands (mg v / ms), memtier having none. */
const protocol = process.env.BENCH_PROTOCOL === 'memcache_text' ? 'memcache_text' : 'memcache_binary';
const meta = process.env.BENCH_PROTOCOL === 'meta';
/** memtier's --ratio (sets:gets): 1:9 by default, 1:0 for SET only (BENCH_RATIO). */
const memtierRatio = /^\d+:\d+$/.test(process.env.BENCH_RATIO ?? '') ? (process.env.BENCH_RATIO as string) : '1:9';

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function memtierCommand(memtier: string, port: number, extra: string[]): string[] {
  return [memtier, '-s', '127.0.0.1', '-p', String(port), `--protocol=${protocol}`, '--threads=1', `--clients=${clients}`, '-d', '100', `--key-maximum=${keys}`, '--hide-histogram', ...extra];
}

function runMemtier(cmd: string[]): Figures {
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('Totals'));
  if (!line) throw new Error(`memtier printed no Totals line:\n${r.stdout}\n${r.stderr}`);
  const f = line.split(/\s+/);
  return { opsPerSec: Number(f[1]), p50Ms: Number(f[5]), p99Ms: Number(f[6]), p999Ms: Number(f[7]) };
}

function runMemcaslap(port: number): Figures {
  const cmd = ['-s', `127.0.0.1:${port}`, '-B', '-c', String(clients), '-T', '1', '-X', '100', '-t', `${seconds}s`];
  const r = spawnSync('memcaslap', cmd, { encoding: 'utf8' });
  const m = /TPS: (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`memcaslap printed no TPS:\n${r.stdout}\n${r.stderr}`);
  return { opsPerSec: Number(m[1]) };
}

interface Scenario {
  name: string;
  command: (port: number) => string;
  run: (port: number) => Promise<Figures> | Figures;
  prefill?: (port: number) => Promise<void> | void;
}

function scenarios(): { tool: string; list: Scenario[] } {
  const memtier = meta ? null : (process.env.MEMTIER ?? which('memtier_benchmark'));
  if (memtier) {
    const prefill = (port: number): void => void runMemtier(memtierCommand(memtier, port, ['--ratio=1:0', '--key-pattern=P:P', `--requests=${Math.ceil(keys / clients)}`]));
    const mk = (name: string, extra: string[]): Scenario => ({
      name,
      command: (port) => memtierCommand(memtier, port, extra).join(' '),
      run: (port) => runMemtier(memtierCommand(memtier, port, extra)),
      prefill,
    });
    const mix = memtierRatio === '1:9' ? '90% get / 10% set' : memtierRatio === '1:0' ? 'SET only' : `set:get ${memtierRatio}`;
    const list = [mk(`${mix}, unpipelined`, [`--ratio=${memtierRatio}`, `--test-time=${seconds}`])];
    if (pipeline > 0) list.push(mk(`${mix}, --pipeline=${pipeline}`, [`--ratio=${memtierRatio}`, `--test-time=${seconds}`, `--pipeline=${pipeline}`]));
    return { tool: 'memtier_benchmark', list };
  }
  if (!meta && which('memcaslap')) {
    return {
      tool: 'memcaslap',
      list: [{ name: '90% get / 10% set (memcaslap default mix)', command: (port) => `memcaslap -s 127.0.0.1:${port} -B -c ${clients} -T 1 -X 100 -t ${seconds}s`, run: runMemcaslap }],
    };
  }
  const load = (port: number, p: number): Promise<Figures> => runLoad({ host: '127.0.0.1', port, connections: clients, seconds, setRatio: 0.1, keyMaximum: keys, valueSize: 100, pipeline: p, meta });
  const prefill = async (port: number): Promise<void> => void (await runLoad({ host: '127.0.0.1', port, connections: clients, seconds: 3600, setRatio: 1, keyMaximum: keys, valueSize: 100, pipeline: 1, prefill: true, meta }));
  const what = meta ? 'meta commands (mg v / ms)' : 'binary';
  const list: Scenario[] = [
    { name: `90% get / 10% set, ${what}, unpipelined`, command: () => `bench/load.ts ${meta ? 'meta ' : ''}connections=${clients} seconds=${seconds} keys=${keys} value=100B`, run: (port) => load(port, 1), prefill },
  ];
  if (pipeline > 0) list.push({ name: `90% get / 10% set, ${what}, pipeline ${pipeline}`, command: () => `bench/load.ts ${meta ? 'meta ' : ''}connections=${clients} seconds=${seconds} keys=${keys} value=100B pipeline=${pipeline}`, run: (port) => load(port, pipeline), prefill });
  return { tool: 'bench/load.ts', list };
}

async function prepared(start: () => Promise<RunningServer>, s: Scenario): Promise<RunningServer> {
  const server = await start();
  await s.prefill?.(server.port);
  await settle(server);
  return server;
}

const fmt = (n: number | undefined, d = 3): string => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));

async function main(): Promise<void> {
  const { tool, list } = scenarios();
  // BENCH_VERSUS_ARGS: more flags for the yardstick lmcached (with BENCH_VERSUS; "." there
  // means this build), to compare flags on one build.
  // Both servers get memcached's item memory (BENCH_MEMORY_MB); flags given after it win.
  const sameMemory = ['-m', String(BENCH_MEMORY_MB)];
  const versusArgs = [...sameMemory, ...(process.env.BENCH_VERSUS_ARGS ?? '').split(' ').filter((a) => a.length > 0)];
  // BENCH_VERSUS_NODE_ARGS, when set (even empty): the yardstick lmcached's Node flags instead
  // of BENCH_NODE_ARGS, to compare Node flags on one build.
  const startYardstick = (): Promise<RunningServer> => (versus === undefined ? startMemcached(1) : startLmcached(ack, versus === '.' ? undefined : versus, versusArgs, process.env.BENCH_VERSUS_NODE_ARGS));
  console.log(`# lmcached vs ${versus ?? 'memcached'} — ${tool}${tool === 'memtier_benchmark' ? ` --protocol=${protocol}` : ''}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}`);
  for (const s of list) {
    console.log(`\n## ${s.name}, ${rounds} alternating rounds of ${seconds} s\n`);
    console.log('| round | server | ops/s | p50 ms | p99 ms | p99.9 ms | ratio |');
    console.log('|---:|---|---:|---:|---:|---:|---:|');
    const ratios: number[] = [];
    const nullRatios: number[] = [];
    const tails: number[] = [];
    const nullTails: number[] = [];
    const yardstick = await prepared(startYardstick, s);
    const lm = await prepared(() => startLmcached(ack, undefined, sameMemory), s);
    const nul = withNull ? await startNullServer() : null;
    try {
      for (let round = 1; round <= rounds; round++) {
        // Each run starts with both servers quiet (settle: servers.ts).
        const y = await s.run(yardstick.port);
        await settle(yardstick);
        const l = await s.run(lm.port);
        await settle(lm);
        const n = nul === null ? null : await s.run(nul.port);
        const ratio = l.opsPerSec / y.opsPerSec;
        ratios.push(ratio);
        if (y.p999Ms !== undefined && l.p999Ms !== undefined) tails.push(l.p999Ms / y.p999Ms);
        const rows: Array<[RunningServer, Figures, string]> = [
          [yardstick, y, ''],
          [lm, l, ratio.toFixed(2)],
        ];
        if (nul !== null && n !== null) {
          nullRatios.push(n.opsPerSec / y.opsPerSec);
          if (y.p999Ms !== undefined && n.p999Ms !== undefined) nullTails.push(n.p999Ms / y.p999Ms);
          rows.push([nul, n, (n.opsPerSec / y.opsPerSec).toFixed(2)]);
        }
        for (const [server, f, shown] of rows) {
          console.log(`| ${round} | ${server.name} | ${Math.round(f.opsPerSec)} | ${fmt(f.p50Ms)} | ${fmt(f.p99Ms)} | ${fmt(f.p999Ms)} | ${shown} |`);
        }
      }
    } finally {
      await yardstick.stop();
      await lm.stop();
      await nul?.stop();
    }
    const other = versus === undefined ? 'memcached' : 'the other build';
    const each = (list: number[]): string => list.map((r) => r.toFixed(2)).join(', ');
    console.log(`\nratio lmcached / ${other}: **${median(ratios).toFixed(2)}** (median of ${rounds}; each: ${each(ratios)})`);
    if (tails.length > 0) console.log(`p99.9 lmcached / ${other}: ${median(tails).toFixed(2)} (median; each: ${each(tails)})`);
    if (nullRatios.length > 0) console.log(`ratio Node with nothing stored / ${other}: **${median(nullRatios).toFixed(2)}** (each: ${each(nullRatios)})`);
    if (nullTails.length > 0) console.log(`p99.9 Node with nothing stored / ${other}: ${median(nullTails).toFixed(2)} (median; each: ${each(nullTails)})`);
    console.log(`\ncommand: \`${s.command(lm.port).replace(/-p \d+|:\d+ /, (m) => m.replace(/\d+/, 'PORT'))}\``);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
