/**
 * Start-up failures: each is one line naming its cause and a distinct exit code (BSD sysexits,
 * as memcached uses them: 71 when it cannot listen), never a stack trace or a retry loop.
 */
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const EXIT = {
  /** Bad command line (cli.ts). */
  usage: 64,
  /** Data this build cannot read: damaged or foreign LMDB file, unknown record or data format. */
  dataError: 65,
  /** The port cannot be listened on (memcached: "failed to listen on one of interface(s)"). */
  listen: 71,
  /** The data directory cannot be created, is not a directory, or is not writable. */
  dataDir: 73,
  /** The store could not be opened for another reason. */
  ioError: 74,
  /** A configuration file (the SASL password file) is missing or malformed. */
  config: 78,
} as const;

export class StartupError extends Error {
  override name = 'StartupError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function code(err: unknown): string {
  const c: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
  return typeof c === 'string' ? c : String(err);
}

/** Creates the data directory (and missing parents) and checks it is a writable directory.
 * Parents are created one at a time: Node's recursive mkdir never returns on some paths
 * (under /proc it gets ENOENT and tries again, forever). */
export function prepareDataDir(dir: string): void {
  const abs = resolve(dir);
  const missing: string[] = [];
  for (let p = abs; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      if (code(err) !== 'ENOENT' || p === dirname(p)) throw new StartupError(EXIT.dataDir, `${dir}: cannot use the data directory (${code(err)} at ${p})`);
      missing.unshift(p);
      continue;
    }
    if (!isDir) throw new StartupError(EXIT.dataDir, `${dir}: not a directory (${p} is a file)`);
    break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (err) {
      if (code(err) !== 'EEXIST') throw new StartupError(EXIT.dataDir, `${dir}: cannot create the data directory (${code(err)} at ${p})`);
    }
  }
  try {
    accessSync(abs, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new StartupError(EXIT.dataDir, `${dir}: the data directory is not writable (${code(err)})`);
  }
}
