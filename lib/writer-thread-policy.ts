/**
 * Puts the log and apply threads (the store's writers) in Linux's SCHED_BATCH policy
 * (`--helper-policy batch`; not the default: with other processes busy on every core the writers
 * wait longer for a CPU, and a SIGTERM under load could not finish its commits in time).
 *
 * Why: the event loop wakes the log thread for every flusher batch; at nice 0 in the normal
 * policy the woken thread preempts the event loop on its core, and the event loop waits inside
 * its postMessage (80–128 µs a batch under an unpipelined 90/10 load against 24–35 in
 * SCHED_BATCH, which never preempts at wakeup and keeps its full share of the CPU: 90/10
 * unpipelined +20–24% with --ack=persist, bench/RESULTS.md session 37). SCHED_IDLE would take
 * that share away (the commits lag), and a nice value does not stop wakeup preemption. Node
 * has no call for a thread's policy, so util-linux's `chrt` sets it; where it or the thread is
 * missing, nothing changes but a debug line.
 */
import { execFile } from 'node:child_process';
import { log } from './log.js';

/** Sets SCHED_BATCH on the kernel thread ids `tids` (0: not started, skipped). Resolves once
 * every `chrt` has ended, however it ended. */
export function batchWriters(tids: readonly number[]): Promise<void> {
  if (process.platform !== 'linux') return Promise.resolve();
  const runs = tids
    .filter((tid) => tid > 0)
    .map(
      (tid) =>
        new Promise<void>((resolve) => {
          execFile('chrt', ['--batch', '--pid', '0', String(tid)], { timeout: 5000 }, (err) => {
            if (err) log.debug(`writer thread ${tid}: SCHED_BATCH not set (${err.message})`);
            resolve();
          });
        }),
    );
  return Promise.all(runs).then(() => undefined);
}
