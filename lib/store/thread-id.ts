/** The calling thread's kernel id, for --helper-nice to tell threads apart (0 where
 * /proc/thread-self is not there). */
import { readlinkSync } from 'node:fs';

export function ownThreadId(): number {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}
