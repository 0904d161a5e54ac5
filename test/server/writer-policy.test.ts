/**
 * The writers' scheduling policy (writer-thread-policy.ts): SCHED_BATCH while commits keep up,
 * the normal policy while they lag (back to SCHED_BATCH once they have kept up for a while) and
 * for good once stopped (the shutdown's commits). Linux with util-linux's chrt only; policies
 * are read from /proc.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import { WriterPolicy } from '../../lib/writer-thread-policy.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { removeDataDir, startServer } from '../fixtures/server.js';
import { Op, setExtras } from '../fixtures/frames.js';
import { until } from '../fixtures/wait.js';

const usable = existsSync('/proc/self/task') && ['/usr/bin/chrt', '/bin/chrt'].some((p) => existsSync(p));
const skip = !usable && 'needs /proc and chrt';

/** A thread's scheduling policy (field 41 of its stat: 0 normal, 3 SCHED_BATCH). */
function policyOf(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}

/** How many of a process's threads are in SCHED_BATCH. */
function batchThreads(pid: number): number {
  let n = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (policyOf(pid, Number(tid)) === 3) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

t.test('WriterPolicy: batch at start, normal while lagging, batch again after a calm spell, normal once stopped', { skip }, async (t) => {
  // A thread of a process of its own stands for a writer.
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const pid = child.pid as number;
  let lagging = false;
  let switches = 0;
  const policy = new WriterPolicy(() => [pid], () => lagging, () => switches++);
  policy.start();
  await until(() => policyOf(pid, pid) === 3, 'SCHED_BATCH at start');
  t.equal(policy.policy, 'batch');
  lagging = true;
  await until(() => policyOf(pid, pid) === 0, 'the normal policy while commits lag');
  t.equal(policy.policy, 'normal');
  lagging = false;
  // Not straight back: a short calm is not enough.
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(policyOf(pid, pid), 0, 'still normal one second after the lag ended');
  await until(() => policyOf(pid, pid) === 3, 'SCHED_BATCH again after commits kept up', 20_000);
  t.equal(switches, 2, 'two switches after start');
  await policy.stop();
  t.equal(policyOf(pid, pid), 0, 'normal once stopped, as soon as stop() resolves');
  // A lag or a calm after stop changes nothing.
  lagging = true;
  await new Promise((r) => setTimeout(r, 300));
  lagging = false;
  policy.start();
  await new Promise((r) => setTimeout(r, 300));
  t.equal(policyOf(pid, pid), 0, 'stays normal after stop');
  t.equal(switches, 2, 'two switches after start');
});

t.test('a server whose commits lag puts its writers in the normal policy, and back in SCHED_BATCH after', { skip }, async (t) => {
  // Each flusher batch is held 1.5 s: the oldest uncommitted write grows past the 20 ms lag bound.
  const server = await serverFor(t, { env: { LMCACHED_FLUSH_DELAY_MS: '1500' } });
  const c = await clientFor(t, server.port);
  const pid = server.proc.pid as number;
  // The writers start with the store, before any write.
  await until(() => batchThreads(pid) === 2, 'the log and apply threads in SCHED_BATCH', 20_000);
  t.equal((await c.stats()).get('writer_policy_switches'), '0', 'no switch while nothing is written');
  // Acknowledged at once; its commit comes 1.5 s later, and the writers switch meanwhile.
  await c.call({ opcode: Op.SET, key: 'lagging', extras: setExtras(0, 0), value: 'v' });
  await until(() => batchThreads(pid) === 0, 'every thread in the normal policy while commits lag', 20_000);
  await until(() => batchThreads(pid) === 2, 'the writers in SCHED_BATCH again once commits kept up', 30_000);
  t.equal((await c.stats()).get('writer_policy_switches'), '2', 'stats count both switches');
  t.equal((await c.call({ opcode: Op.GET, key: 'lagging' })).value.toString(), 'v');
});

t.test('SIGTERM to an idle server (no client, writes committed): the writers switch back, then the shutdown completes, marked clean', { skip }, async (t) => {
  const server = await startServer();
  t.teardown(() => removeDataDir(server.dataDir));
  const pid = server.proc.pid as number;
  const c = await clientFor(t, server.port);
  await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' });
  await until(() => batchThreads(pid) === 2, 'the log and apply threads in SCHED_BATCH', 20_000);
  c.end();
  // Nothing in flight: the worker threads no longer keep the event loop; only the policy
  // switch the shutdown awaits does (a loop that ended there left the store unclosed).
  await new Promise((r) => setTimeout(r, 300));
  const exit = await server.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'exit 0');
  t.match(server.log(), /shutdown complete/);
  const again = await startServer({ dataDir: server.dataDir });
  t.teardown(() => again.stop('SIGKILL'));
  t.match(again.log(), /warmup: complete/);
  t.notMatch(again.log(), /unclean shutdown/, 'the restart finds a clean shutdown');
});

t.test('no shell on the PATH: the writers stay in the normal policy, writes work, and a SIGTERM still completes clean', { skip }, async (t) => {
  const server = await startServer({ env: { PATH: '/nonexistent' } });
  t.teardown(() => removeDataDir(server.dataDir));
  const pid = server.proc.pid as number;
  const c = await clientFor(t, server.port);
  for (let i = 0; i < 20; i++) await c.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: 'v' });
  t.equal((await c.call({ opcode: Op.GET, key: 'k19' })).value.toString(), 'v');
  t.equal(batchThreads(pid), 0, 'no thread in SCHED_BATCH');
  c.end();
  const exit = await server.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'exit 0');
  t.match(server.log(), /shutdown complete/);
  t.notMatch(server.log(), /not marked clean/);
});
