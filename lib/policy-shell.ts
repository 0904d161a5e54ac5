/**
 * Runs util-linux's `chrt` for writer-thread-policy.ts through one shell started once, instead
 * of a child process per call.
 *
 * Why: starting a child from Node forks this process, and the fork copies its page tables on
 * the event loop: 7–21 ms with 300 MB resident, 20–33 ms with 1 GB (measured on the 2-core VM,
 * bench/RESULTS.md session 38), a stall every request in flight waits behind, twice per policy
 * switch. The shell is forked once, at start-up while the process is small; each command after
 * that is a line written to its stdin, and the shell (a few hundred KB) forks `chrt` itself.
 * It ends when its stdin closes: on close(), or when this process dies.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { log } from './log.js';

/** What a command's end looks like on the shell's output: the marker and the command's number. */
const DONE = '@@done';
/** How long a command may take before it counts as ended anyway (a shell that stopped
 * answering must not hold a shutdown). */
const COMMAND_WAIT_MS = 5_000;

/** The policies chrt sets here: SCHED_BATCH, SCHED_IDLE, the normal one. */
export type ChrtFlag = '--batch' | '--idle' | '--other';

export class PolicyShell {
  private shell: ChildProcessByStdio<Writable, Readable, null> | null = null;
  private next = 1;
  /** Commands written and not ended yet, by number. */
  private readonly waiting = new Map<number, () => void>();
  private output = '';

  /** Runs `chrt <flag> --pid 0 <tid>` for each pair; resolves once every one has ended, however
   * it ended (a failure is a debug line: the thread may be gone, or chrt missing). */
  chrt(policies: ReadonlyArray<readonly [ChrtFlag, number]>): Promise<void> {
    const shell = this.started();
    if (shell === null || policies.length === 0) return Promise.resolve();
    const n = this.next++;
    // Numbers and our own flags only go into the line: nothing a client sends reaches it.
    const commands = policies.map(([flag, tid]) => `chrt ${flag} --pid 0 ${Math.trunc(tid)} 2>&1`).join('; ');
    return new Promise<void>((resolve) => {
      // Referenced, unlike the shell and its pipes: while a command waits, the event loop stays
      // alive. A shutdown awaiting the writers' switch with nothing else referenced (an idle
      // server) would otherwise see its loop end there, before the store closed.
      const timer = setTimeout(() => this.end(n, `no answer to a command in ${COMMAND_WAIT_MS} ms`), COMMAND_WAIT_MS);
      this.waiting.set(n, () => {
        clearTimeout(timer);
        resolve();
      });
      shell.stdin.write(`${commands}; echo ${DONE} ${n}\n`);
    });
  }

  /** Starts the shell now (while this process is small: see above). */
  start(): void {
    this.started();
  }

  /** Ends the shell (its stdin closes; commands written before still run). */
  close(): void {
    this.shell?.stdin.end();
  }

  private started(): ChildProcessByStdio<Writable, Readable, null> | null {
    // A shell that could not start (exitCode is then the negative errno), ended or was killed
    // runs nothing more.
    if (this.shell !== null) return this.shell.exitCode === null && this.shell.signalCode === null ? this.shell : null;
    const shell = spawn('sh', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.shell = shell;
    shell.stdout.setEncoding('utf8');
    shell.stdout.on('data', (text: string) => this.read(text));
    // A shell that cannot start or dies: every waiting command has ended, and later ones run none.
    const ended = (why: string): void => {
      log.debug(`writer policy shell: ${why}`);
      for (const resolve of this.waiting.values()) resolve();
      this.waiting.clear();
    };
    shell.on('error', (err) => ended(err.message));
    shell.on('exit', (code, signal) => ended(`exited (${signal ?? code ?? ''})`));
    shell.stdin.on('error', (err) => ended(err.message));
    // Neither the shell nor its pipes keep this process running (a waiting command's timer does).
    shell.unref();
    unrefStream(shell.stdin);
    unrefStream(shell.stdout);
    return shell;
  }

  /** Command `n` has ended (`why`: not by its marker). */
  private end(n: number, why: string | null): void {
    if (why !== null) log.debug(`writer policy shell: ${why}`);
    this.waiting.get(n)?.();
    this.waiting.delete(n);
  }

  private read(text: string): void {
    this.output += text;
    let nl: number;
    while ((nl = this.output.indexOf('\n')) >= 0) {
      const line = this.output.slice(0, nl);
      this.output = this.output.slice(nl + 1);
      if (line.startsWith(`${DONE} `)) {
        this.end(Number(line.slice(DONE.length + 1)), null);
      } else if (line.length > 0) {
        log.debug(`writer policy: ${line}`);
      }
    }
  }
}

/** A child's pipe is a net.Socket underneath, whose unref() lets the process exit with it open. */
function unrefStream(stream: Readable | Writable): void {
  const unref: unknown = Reflect.get(stream, 'unref');
  if (typeof unref === 'function') unref.call(stream);
}
