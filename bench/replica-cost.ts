/**
 * `npm run bench:replica-cost`: what a replica costs its active per write, as main-thread CPU
 * (issue 14's target: at most 15% more than without one). Each round runs an active alone,
 * then an active with a replica (--replica-of, every vBucket streaming), under the same SET-only
 * load from our own load generator, and reads the active's event-loop thread CPU time from
 * /proc/<pid>/task/<pid>/stat. CPU per write, not throughput: the nodes and the load share the
 * machine's cores, so throughput would measure the sharing.
 *
 * Both runs of a round get the same paced load (BENCH_RATE writes/s, below what the pair can
 * take on two cores), so both spread the same fixed costs (flusher timers, commits) over the
 * same writes; BENCH_RATE=0 runs as fast as answered, where the pair does fewer writes per
 * second than the active alone and each write carries more of those costs.
 *
 * Environment: BENCH_SECONDS (8), BENCH_ROUNDS (2; each round runs alone, paired, alone), BENCH_CLIENTS (20), BENCH_KEYS (100000),
 * BENCH_RATE (6000).
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { runLoad } from './load.js';
import { median } from './median.js';
import { startLmcached, type RunningServer } from './servers.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const clients = Number(process.env.BENCH_CLIENTS ?? 20);
const keys = Number(process.env.BENCH_KEYS ?? 100_000);
const rate = Number(process.env.BENCH_RATE ?? 6000);

/** User + system CPU seconds of a process's main thread. */
function mainThreadCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measure(withReplica: boolean): Promise<{ perWrite: number; writesPerSec: number }> {
  const active = await startLmcached('memory');
  let replica: RunningServer | null = null;
  try {
    if (withReplica) {
      replica = await startLmcached('memory', undefined, ['--replica-of', `127.0.0.1:${active.port}`]);
      // Its streams open within a second or two of its start.
      await new Promise((r) => setTimeout(r, 2000));
    }
    const pid = active.pid as number;
    const cpu0 = mainThreadCpu(pid);
    const r = await runLoad({ host: '127.0.0.1', port: active.port, connections: clients, seconds, setRatio: 1, keyMaximum: keys, valueSize: 100, pipeline: 1, rate });
    const cpu = mainThreadCpu(pid) - cpu0;
    return { perWrite: (cpu * 1e6) / r.ops, writesPerSec: r.opsPerSec };
  } finally {
    await replica?.stop();
    await active.stop();
  }
}

console.log(`# What a replica costs the active: ${cpus().length} cores (${cpus()[0]?.model ?? ''}), SET only, ${clients} clients, ${seconds} s, ${rate > 0 ? `${rate} writes/s offered` : 'unpaced'}\n`);
// Each round runs alone, with a replica, alone again, and compares the middle run with the mean
// of the two around it: this machine's speed drifts by a third over tens of seconds, and a
// drift that is steady across the round cancels out.
console.log('| round | active alone, µs CPU per write (before, after) | with a replica | change |');
console.log('|---:|---:|---:|---:|');
const changes: number[] = [];
let aloneSum = 0;
let pairedSum = 0;
for (let round = 1; round <= rounds; round++) {
  const before = await measure(false);
  const paired = await measure(true);
  const after = await measure(false);
  const alone = (before.perWrite + after.perWrite) / 2;
  aloneSum += alone;
  pairedSum += paired.perWrite;
  const change = (paired.perWrite / alone - 1) * 100;
  changes.push(change);
  console.log(`| ${round} | ${before.perWrite.toFixed(1)}, ${after.perWrite.toFixed(1)} (${Math.round(before.writesPerSec)}, ${Math.round(after.writesPerSec)} writes/s) | ${paired.perWrite.toFixed(1)} (${Math.round(paired.writesPerSec)}/s) | ${signed(change)}% |`);
}
console.log(`\nmedian change ${signed(median(changes))}%; summed over the rounds ${signed((pairedSum / aloneSum - 1) * 100)}% (target: at most +15%)`);

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(0)}`;
}
