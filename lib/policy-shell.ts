/**
 * Runs util-linux's `chrt` for writer-thread-policy.ts through one shell started once, instead
 * of a child process per call.
 *
 * Why: starting a child from Node forks this process, and the fork copies its page tables on
 * the event loop: 15–20 ms with 300 MB resident, 20–30 ms with 1 GB (measured on the 2-core VM,
 * bench/RESULTS.md session 38), a stall every request in flight waits behind, twice per policy
 * switch. The shell is forked once, at start-up while the process is small; each command after
 * that is a line written to its stdin, and the shell (a few hundred KB) forks `chrt` itself.
 * It ends when its stdin closes: on close(), or when this process dies.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { log } from './log.js';

/** What a command's end looks like on the shell's output: the marker, its number, its status. */
const DONE = '@@done';
/** How long a command may take before it counts as ended anyway (a shell that stopped
 * answering must not hold a shutdown). */
const COMMAND_WAIT_MS = 5_000;

export class PolicyShell {
  private shell: ChildProcessByStdio<Writable, Readable, null> | null = null;
  private next = 1;
  /** Commands written and not ended yet, by number. */
  private readonly waiting = new Map<number, () => void>();
  private output = '';
  /** The shell could not start, or ended: no command runs any more. */
  private gone = false;

  /** Runs `chrt <flag> --pid 0 <tid>` for each tid; resolves once every one has ended, however
   * it ended (a failure is a debug line: the thread may be gone, or chrt missing). */
  chrt(flag: '--batch' | '--other', tids: readonly number[]): Promise<void> {
    const shell = this.started();
    if (shell === null || tids.length === 0) return Promise.resolve();
    const n = this.next++;
    // Numbers only go into the line: nothing a client sends reaches it.
    const commands = tids.map((tid) => `chrt ${flag} --pid 0 ${Math.trunc(tid)} 2>&1`).join('; ');
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.end(n, `no answer to a command in ${COMMAND_WAIT_MS} ms`), COMMAND_WAIT_MS);
      this.waiting.set(n, () => {
        clearTimeout(timer);
        resolve();
      });
      this.hold(shell, true);
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
    if (this.shell !== null) return this.gone || this.shell.exitCode !== null ? null : this.shell;
    const shell = spawn('sh', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.shell = shell;
    shell.stdout.setEncoding('utf8');
    shell.stdout.on('data', (text: string) => this.read(text));
    // A shell that cannot start or dies: every waiting command has ended, and later ones run none.
    const ended = (why: string): void => {
      if (!this.gone) log.debug(`writer policy shell: ${why}`);
      this.gone = true;
      for (const resolve of this.waiting.values()) resolve();
      this.waiting.clear();
      this.hold(shell, false);
    };
    shell.on('error', (err) => ended(err.message));
    shell.on('exit', (code, signal) => ended(`exited (${signal ?? code ?? ''})`));
    shell.stdin.on('error', (err) => ended(err.message));
    this.hold(shell, false);
    return shell;
  }

  /** Idle, neither the shell nor its pipes keep this process running; while a command waits,
   * its output does: a shutdown awaiting the writers' switch (writer-thread-policy.ts) with
   * nothing else referenced would otherwise see its event loop end there, before the store
   * closed (a SIGTERM to an idle server ended without marking the shutdown clean). */
  private hold(shell: ChildProcessByStdio<Writable, Readable, null>, on: boolean): void {
    for (const target of [shell, shell.stdout]) {
      const method: unknown = Reflect.get(target, on ? 'ref' : 'unref');
      if (typeof method === 'function') method.call(target);
    }
    if (!on) unrefStream(shell.stdin);
  }

  /** Command `n` has ended (`why`: not by its marker). */
  private end(n: number, why: string | null): void {
    if (why !== null) log.debug(`writer policy shell: ${why}`);
    this.waiting.get(n)?.();
    this.waiting.delete(n);
    if (this.waiting.size === 0 && this.shell !== null) this.hold(this.shell, false);
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
