/**
 * Refuses (ENOSPC) an LMDB commit the disk has clearly no room for, before LMDB meets the full
 * disk: lmdb-js 3.5 formats a failed page write's message into a 100-byte heap buffer, which a
 * long message overruns (a process abort seen in test/server/disk-full.test.ts once commits
 * grew). A disk filled by someone else between this check and the commit still reaches that
 * path.
 */
import { statfsSync } from 'node:fs';

/** Bytes free for this process on the file system holding `path`. */
export function freeBytes(path: string): number {
  const fs = statfsSync(path);
  return fs.bavail * fs.bsize;
}

export function checkRoom(path: string, bytes: number): void {
  const free = freeBytes(path);
  if (free < bytes) throw Object.assign(new Error(`no space left on device: ${free} bytes free, this commit needs about ${bytes}`), { code: 'ENOSPC' });
}
