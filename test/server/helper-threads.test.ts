/**
 * Thread priorities: --helper-nice N (default 0) puts every thread but the event loop's and
 * the two that write (the log thread and LMDB's apply thread) at nice N (V8's helpers, libuv's
 * pool), including threads that start after warmup, in either ack mode; the writers keep nice
 * 0, so LMDB never falls behind for want of CPU the event loop leaves. Linux only (reads
 * /proc/PID/task).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import t from 'tap';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { Op, setExtras } from '../fixtures/frames.js';
import { until } from '../fixtures/wait.js';

/** tid → one numeric field of /proc/PID/task/TID/stat, counted from the state (field 3) after the
 * command name: 16 is the nice value (field 19), 38 the scheduling policy (field 41: 0 normal, 3
 * SCHED_BATCH, 5 SCHED_IDLE). */
function statFieldByThread(pid: number, index: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index]));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const niceByThread = (pid: number): Map<number, number> => statFieldByThread(pid, 16);
const policyByThread = (pid: number): Map<number, number> => statFieldByThread(pid, 38);

const linux = existsSync('/proc/self/task');

for (const [args, helper] of [[[], 0], [['--ack=persist'], 0], [['--helper-nice', '7'], 7], [['--helper-nice', '19', '--ack=persist'], 19], [['--helper-nice', '0'], 0]] as const) {
  t.test(`${args.join(' ') || 'default (--ack=memory)'}: helper threads at nice ${helper}, the event loop at 0`, { skip: !linux && 'needs /proc' }, async (t) => {
    const server = await serverFor(t, { args: [...args] });
    const c = await clientFor(t, server.port);
    // Writes make LMDB start its threads, which may come after warmup.
    for (let i = 0; i < 20; i++) await c.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: 'v' });
    t.equal((await c.stats('settings')).get('helper_nice'), String(helper));
    const pid = server.proc.pid as number;
    // The log and apply threads are the two helpers left at 0 (with --helper-nice 0 every thread is).
    const atZero = (m: Map<number, number>): number => [...m].filter(([tid, nice]) => tid !== pid && nice === 0).length;
    await until(() => {
      const m = niceByThread(pid);
      return m.get(pid) === 0 && [...m].every(([tid, nice]) => tid === pid || nice === helper || nice === 0) && (helper === 0 || atZero(m) === 2);
    }, `every helper thread but the log and apply threads at ${helper}`, 20_000);
    const threads = niceByThread(pid);
    t.equal(threads.get(pid), 0, 'the event-loop thread keeps nice 0');
    if (helper > 0) t.equal(atZero(threads), 2, 'two helper threads (log and apply) keep nice 0');
    t.ok(threads.size > 4, `${threads.size - 1} helper threads`);
  });
}

const chrt = ['/usr/bin/chrt', '/bin/chrt'].some((p) => existsSync(p));

// [args, threads in SCHED_BATCH (the log thread, under --ack=persist), in SCHED_IDLE (the apply thread)]
for (const [args, batch, idle] of [[[], 0, 1], [['--ack=persist'], 1, 1], [['--helper-policy', 'batch'], 0, 1], [['--helper-policy', 'batch', '--helper-nice', '5', '--ack=persist'], 1, 1], [['--helper-policy', 'batch', '--helper-nice', '5'], 0, 1], [['--helper-policy', 'normal', '--ack=persist'], 0, 0]] as const) {
  const eased = idle > 0;
  t.test(`${args.join(' ') || 'default'}: ${batch} thread in SCHED_BATCH, ${idle} in SCHED_IDLE, the event loop normal`, { skip: (!linux || !chrt) && 'needs /proc and chrt' }, async (t) => {
    const server = await serverFor(t, { args: [...args] });
    const c = await clientFor(t, server.port);
    for (let i = 0; i < 20; i++) await c.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: 'v' });
    t.equal((await c.stats('settings')).get('helper_policy'), eased ? 'batch' : 'normal');
    const pid = server.proc.pid as number;
    const inPolicy = (m: Map<number, number>, policy: number): number[] => [...m].filter(([, p]) => p === policy).map(([tid]) => tid);
    if (eased) await until(() => inPolicy(policyByThread(pid), 3).length === batch && inPolicy(policyByThread(pid), 5).length === idle, `${batch} thread in SCHED_BATCH and ${idle} in SCHED_IDLE`, 20_000);
    const policies = policyByThread(pid);
    t.equal(policies.get(pid), 0, 'the event loop keeps the normal policy');
    t.equal(inPolicy(policies, 3).length, batch, `${batch} thread in SCHED_BATCH`);
    t.equal(inPolicy(policies, 5).length, idle, `${idle} thread in SCHED_IDLE`);
    if ((args as readonly string[]).includes('--helper-nice')) {
      // The writers are among the helpers the nice value leaves at 0.
      const nice = niceByThread(pid);
      const writers = [...inPolicy(policies, 3), ...inPolicy(policies, 5)];
      t.same(writers.map((tid) => nice.get(tid)), writers.map(() => 0), 'the SCHED_BATCH and SCHED_IDLE threads are writers at nice 0');
    }
    // And they still write: a value written now reads back after the batch commits.
    await c.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'v2' });
    t.equal((await c.call({ opcode: Op.GET, key: 'after' })).value.toString(), 'v2');
  });
}
