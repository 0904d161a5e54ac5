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

/**
 * A connection's --ack=memory writes whose replies are not written yet. Whether those replies
 * wait for a commit is decided once, when they are written (Connection.flushOutput): that is
 * when they acknowledge, so the lag is judged at the right moment, and one clock read serves
 * every write of a pipelined chunk (a clock read per write was 6% of a pipelined SET's event
 * loop time on this VM, bench/RESULTS.md session 36).
 */
export class UnackedWrites {
  /** The newest batch among them; 0 for none. */
  private batch = 0;

  /** A write in `batch` (not committed yet) is answered. */
  note(batch: number): void {
    if (batch > this.batch) this.batch = batch;
  }

  /** As the replies are written: the batch they must wait for, or 0 when they may go now
   * (committed meanwhile, or commits keep up). Forgets them either way. */
  mustWaitFor(commits: CommitWatch): number {
    const batch = this.batch;
    if (batch === 0) return 0;
    this.batch = 0;
    return batch > commits.committedBatch && memoryAckMustWait(commits) ? batch : 0;
  }
}
