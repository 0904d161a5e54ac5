/**
 * Logging to stderr, one line per event with a level. -v raises verbosity (memcached style).
 */

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;

let threshold = 2; // info

export function setVerbosity(v: number): void {
  threshold = v > 0 ? 3 : 2;
}

function emit(level: number, message: string): void {
  if (level > threshold) return;
  process.stderr.write(`${new Date().toISOString()} ${LEVELS[level]} ${message}\n`);
}

export const log = {
  error: (m: string): void => emit(0, m),
  warn: (m: string): void => emit(1, m),
  info: (m: string): void => emit(2, m),
  debug: (m: string): void => emit(3, m),
};
