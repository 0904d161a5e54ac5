/**
 * Refuses (ENOSPC) an LMDB commit the disk has clearly no room for, before LMDB meets the full
 * disk: lmdb-js 3.5 formats a failed page write's message into a 100-byte heap buffer, which a
 * long message overruns (a process abort seen in test/server/disk-full.test.ts once commits
 * grew). A disk filled by someone else between this check and the commit still reaches that
 * path.
 */
import { statfsSync } from 'node:fs';

export function checkRoom(path: string, bytes: number): void {
  const fs = statfsSync(path);
  const free = fs.bavail * fs.bsize;
  if (free < bytes) throw Object.assign(new Error(`no space left on device: ${free} bytes free, this commit needs about ${bytes}`), { code: 'ENOSPC' });
}
