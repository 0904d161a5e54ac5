/**
 * Logging to stderr, one line per event with a level. -v raises verbosity (memcached style).
 */

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

let threshold = 2; // info
/** Set once stderr has failed (its reader went away: EPIPE). A server outlives its log reader:
 * lines are dropped from then on. Without this, each failed write raised an error whose report
 * was another failed write, and the process spun at 100% CPU. */
let stderrGone = false;
process.stderr.on('error', () => {
  stderrGone = true;
});

export function setVerbosity(v: number): void {
  threshold = v > 0 ? 3 : 2;
}

function emit(level: number, message: string): void {
  if (level > threshold || stderrGone) return;
  process.stderr.write(`${new Date().toISOString()} ${LEVELS[level]} ${message}\n`);
}

export const log = {
  error: (m: string): void => emit(0, m),
  warn: (m: string): void => emit(1, m),
  info: (m: string): void => emit(2, m),
  debug: (m: string): void => emit(3, m),
};
