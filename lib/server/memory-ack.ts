/**
 * --ack=memory's back pressure: replies go out before their commit only while commits keep
 * up, so a SIGKILL loses at most what README's Durability section promises.
 */
import type { CommitWatch } from '../engine/commit-watch.js';

/** Replies wait for their commit once more than this is uncommitted ... */
export const MEMORY_ACK_BACKLOG_BYTES = 8 * 1024 * 1024;
/** ... or once the oldest uncommitted write is older than this (ms). */
export const MEMORY_ACK_LAG_MS = 20;

/** Whether an --ack=memory reply must wait for its commit now. The lag is read from the clock
 * itself, not the request clock (request-clock.ts): the loss-window bound is README's. */
export function memoryAckMustWait(commits: CommitWatch): boolean {
  if (commits.unpersistedBytes > MEMORY_ACK_BACKLOG_BYTES) return true;
  const oldest = commits.oldestUnpersistedAt;
  return oldest !== 0 && performance.now() - oldest > MEMORY_ACK_LAG_MS;
}
