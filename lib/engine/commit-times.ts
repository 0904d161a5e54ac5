/**
 * The flusher's successful commits, each timed from handing its batch to the store to the
 * commit's answer: what a reply held for that commit (--ack=persist, or --ack=memory's back
 * pressure) waits. kv_engine reports ep_commit_num, ep_commit_time and ep_commit_time_total;
 * the longest is ours, for telling a latency tail that waited on the disk.
 */
export class CommitTimes {
  count = 0;
  lastMs = 0;
  totalMs = 0;
  maxMs = 0;
  private startedAt = 0;

  /** A commit attempt starts (a retry restarts the clock: only the one that commits counts). */
  start(): void {
    this.startedAt = performance.now();
  }

  /** The attempt started last committed. */
  committed(): void {
    const ms = performance.now() - this.startedAt;
    this.count++;
    this.lastMs = ms;
    this.totalMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** `stats reset`: the counters, not the last commit's time. */
  reset(): void {
    this.count = 0;
    this.totalMs = 0;
    this.maxMs = 0;
  }
}
