/**
 * The writers' scheduling policies (writer-thread-policy.ts): the log thread in SCHED_BATCH while
 * commits keep up and normal while they lag; the apply thread in SCHED_IDLE while nothing wants
 * its applies and normal while something does; each eased again once its reason has been over
 * for a while, and both normal for good once stopped (the shutdown's commits). Linux with
 * util-linux's chrt only; policies are read from /proc.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import t, { type Test } from 'tap';
import { WriterPolicy } from '../../lib/writer-thread-policy.js';
import { MAX_UNAPPLIED_BYTES } from '../../lib/engine/flusher.js';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { RawClient } from '../fixtures/client.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { until } from '../fixtures/wait.js';

const usable = existsSync('/proc/self/task') && ['/usr/bin/chrt', '/bin/chrt'].some((p) => existsSync(p));
const skip = !usable && 'needs /proc and chrt';

const NORMAL = 0;
const BATCH = 3;
const IDLE = 5;

/** A thread's scheduling policy (field 41 of its stat: 0 normal, 3 SCHED_BATCH, 5 SCHED_IDLE). */
function policyOf(pid: number, tid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
}

/** The threads of a process in one policy. */
function threadsIn(pid: number, policy: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (policyOf(pid, Number(tid)) === policy) out.push(Number(tid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Two processes of their own standing for the log and apply writers, killed at teardown. */
function standInWriters(t: Test): { logPid: number; applyPid: number } {
  const children = [spawn('sleep', ['60'], { stdio: 'ignore' }), spawn('sleep', ['60'], { stdio: 'ignore' })];
  t.teardown(() => children.forEach((c) => c.kill('SIGKILL')));
  const [logPid, applyPid] = children.map((c) => c.pid as number);
  return { logPid, applyPid };
}

/** A stand-in writer's policy (a process of one thread). */
const of = (pid: number): number => policyOf(pid, pid);

t.test('WriterPolicy: eased at start, each writer normal while its reason lasts and eased after a calm spell, both normal once stopped', { skip }, async (t) => {
  const { logPid, applyPid } = standInWriters(t);
  let lagging = false;
  let wanted = false;
  let switches = 0;
  const policy = new WriterPolicy(() => [logPid, applyPid], () => lagging, () => wanted, () => switches++);
  policy.start();
  await until(() => of(logPid) === BATCH && of(applyPid) === IDLE, 'the log writer in SCHED_BATCH, the apply writer in SCHED_IDLE at start');
  t.equal(policy.policy, 'batch');
  t.equal(policy.applyPolicy, 'idle');

  lagging = true;
  await until(() => of(logPid) === NORMAL, 'the log writer normal while commits lag');
  t.equal(of(applyPid), IDLE, 'a lag alone leaves the apply writer idle');
  lagging = false;
  // Not straight back: a short calm is not enough.
  await sleep(1000);
  t.equal(of(logPid), NORMAL, 'the log writer still normal one second after the lag ended');
  await until(() => of(logPid) === BATCH, 'SCHED_BATCH again after commits kept up', 20_000);
  t.equal(switches, 2, 'two switches so far');

  wanted = true;
  await until(() => of(applyPid) === NORMAL, 'the apply writer normal while its applies are wanted');
  t.equal(of(logPid), BATCH, 'wanted applies leave the log writer in SCHED_BATCH');
  t.equal(policy.applyPolicy, 'normal');
  await sleep(300);
  t.equal(of(applyPid), NORMAL, 'still normal while they are wanted');
  wanted = false;
  await until(() => of(applyPid) === IDLE, 'SCHED_IDLE again once nothing wanted them for a while', 20_000);
  t.equal(switches, 4, 'four switches so far');

  wanted = true;
  lagging = true;
  await until(() => of(applyPid) === NORMAL && of(logPid) === NORMAL, 'both normal while both reasons hold');
  await policy.stop();
  t.same([of(logPid), of(applyPid)], [NORMAL, NORMAL], 'both normal once stopped, as soon as stop() resolves');
  const after = switches;
  // A calm after stop changes nothing, nor does a start.
  lagging = false;
  wanted = false;
  policy.start();
  await sleep(1500);
  t.same([of(logPid), of(applyPid)], [NORMAL, NORMAL], 'both stay normal after stop');
  t.equal(switches, after, 'no switch after stop');
});

t.test('WriterPolicy without easing the log thread (--ack=memory): the log writer stays normal whatever commits do, the apply writer switches', { skip }, async (t) => {
  const { logPid, applyPid } = standInWriters(t);
  let lagging = false;
  let wanted = false;
  const policy = new WriterPolicy(() => [logPid, applyPid], () => lagging, () => wanted, undefined, false);
  policy.start();
  await until(() => of(applyPid) === IDLE, 'the apply writer in SCHED_IDLE');
  t.equal(of(logPid), NORMAL, 'the log writer normal');
  t.equal(policy.policy, 'normal');
  lagging = true;
  wanted = true;
  await until(() => of(applyPid) === NORMAL, 'the apply writer normal while its applies are wanted');
  lagging = false;
  wanted = false;
  await until(() => of(applyPid) === IDLE, 'SCHED_IDLE again', 20_000);
  t.equal(of(logPid), NORMAL, 'the log writer never left the normal policy');
  await policy.stop();
  t.same([of(logPid), of(applyPid)], [NORMAL, NORMAL], 'both normal once stopped');
});

t.test('WriterPolicy: a writer whose thread id is not known yet (0) is left alone, the other still switched', { skip }, async (t) => {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  const pid = child.pid as number;
  const policy = new WriterPolicy(() => [0, pid], () => false, () => false);
  policy.start();
  await until(() => policyOf(pid, pid) === IDLE, 'the apply writer in SCHED_IDLE');
  await policy.stop();
  t.equal(policyOf(pid, pid), NORMAL, 'normal once stopped');
});

t.test('the store tells a request other than a batch waiting on its threads (the apply thread is then wanted), and not a batch', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const store = new LmdbStore({ path: dir });
  t.teardown(() => store.close());
  t.equal(store.requestsWaiting(), false, 'nothing waits at first');
  const state = { state: 1, highSeqno: 0, purgeSeqno: 0, maxCas: 0, snapStart: 0, snapEnd: 0, failovers: [['1', 0]] as Array<[string, number]> };
  const batch = store.writeBatch([], new Map([[0, state]]), new Map());
  t.equal(store.requestsWaiting(), false, 'a batch on its way is not such a request');
  await batch;
  const persist = store.persistVBStatesNow(new Map([[0, state]]));
  const flushed = store.flushed();
  t.equal(store.requestsWaiting(), true, 'a state persisted at once and a wait for the applies are');
  await persist;
  t.equal(store.requestsWaiting(), true, 'one left');
  await flushed;
  t.equal(store.requestsWaiting(), false, 'none once both are answered');
});

t.test('--ack=persist: a server whose commits lag puts its log thread in the normal policy, and back in SCHED_BATCH after; the apply thread stays in SCHED_IDLE', { skip }, async (t) => {
  // Each flusher batch is held 1.5 s: the oldest uncommitted write grows past the 20 ms lag bound.
  const server = await serverFor(t, { args: ['--ack=persist'], env: { LMCACHED_FLUSH_DELAY_MS: '1500' } });
  const c = await clientFor(t, server.port);
  const pid = server.proc.pid as number;
  // The writers start with the store, before any write.
  await until(() => threadsIn(pid, BATCH).length === 1 && threadsIn(pid, IDLE).length === 1, 'the log thread in SCHED_BATCH, the apply thread in SCHED_IDLE', 20_000);
  const [apply] = threadsIn(pid, IDLE);
  t.equal((await c.stats()).get('writer_policy_switches'), '0', 'no switch while nothing is written');
  // Acknowledged once committed, 1.5 s later; the log thread switches meanwhile.
  const set = c.call({ opcode: Op.SET, key: 'lagging', extras: setExtras(0, 0), value: 'v' });
  await until(() => threadsIn(pid, BATCH).length === 0, 'no thread in SCHED_BATCH while commits lag', 20_000);
  t.equal(policyOf(pid, apply), IDLE, 'the apply thread still in SCHED_IDLE: nothing waits for its applies');
  t.equal((await set).status, St.SUCCESS);
  await until(() => threadsIn(pid, BATCH).length === 1, 'the log thread in SCHED_BATCH again once commits kept up', 30_000);
  t.equal((await c.stats()).get('writer_policy_switches'), '2', 'stats count both switches');
  t.equal((await c.call({ opcode: Op.GET, key: 'lagging' })).value.toString(), 'v');
});

t.test('committed writes near the unapplied bound put the apply thread in the normal policy; once a state persisted at once has applied them, SCHED_IDLE again', { skip }, async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  // LMDB takes no batch for ten minutes unless something asks for the applies (a state
  // persisted at once does): the backlog certainly grows (a condition, not a timing).
  const server = await startServer({ dataDir, args: ['--ack', 'memory', '-m', '1024'], env: { LMCACHED_APPLY_DELAY_MS: '600000' } });
  t.teardown(() => server.stop('SIGKILL'));
  const pid = server.proc.pid as number;
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());
  await until(() => threadsIn(pid, IDLE).length === 1, 'the apply thread in SCHED_IDLE', 20_000);
  const [apply] = threadsIn(pid, IDLE);
  const value = Buffer.alloc(512 * 1024, 0x61);
  let i = 0;
  let unapplied = 0;
  // Written one at a time until the backlog passes the mark (60 of the bound's 64 MB).
  while (unapplied <= MAX_UNAPPLIED_BYTES - 4 * 1024 * 1024) {
    t.equal((await c.call({ opcode: Op.SET, key: `k${i++}`, extras: setExtras(0, 0), value })).status, St.SUCCESS);
    unapplied = Number((await c.stats()).get('commit_log_unapplied_bytes'));
    if (i > 1000) break;
  }
  t.ok(unapplied > MAX_UNAPPLIED_BYTES - 4 * 1024 * 1024, `the backlog passed the mark (${(unapplied / 1048576).toFixed(1)} MB after ${i} writes)`);
  await until(() => policyOf(pid, apply) === NORMAL, 'the apply thread in the normal policy', 20_000);
  // vBucket 3 made a replica: its state is persisted at once, which applies every batch first.
  t.equal((await c.call({ opcode: 0x3d, vbucket: 3, extras: Buffer.from([2]) })).status, St.SUCCESS, 'vBucket 3 made a replica');
  await until(async () => Number((await c.stats()).get('commit_log_unapplied_bytes')) === 0, 'every committed batch applied', 60_000);
  await until(() => policyOf(pid, apply) === IDLE, 'the apply thread in SCHED_IDLE again', 20_000);
  t.equal((await c.call({ opcode: Op.GET, key: 'k0' })).value.length, value.length, 'the writes read back');
});

t.test('SIGTERM to an idle server (no client, writes committed): the writers switch back, then the shutdown completes, marked clean', { skip }, async (t) => {
  const server = await startServer();
  t.teardown(() => removeDataDir(server.dataDir));
  const pid = server.proc.pid as number;
  const c = await clientFor(t, server.port);
  await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' });
  await until(() => threadsIn(pid, IDLE).length === 1, 'the apply thread in SCHED_IDLE', 20_000);
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
  t.same([threadsIn(pid, BATCH).length, threadsIn(pid, IDLE).length], [0, 0], 'no thread in SCHED_BATCH or SCHED_IDLE');
  c.end();
  const exit = await server.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null }, 'exit 0');
  t.match(server.log(), /shutdown complete/);
  t.notMatch(server.log(), /not marked clean/);
});
