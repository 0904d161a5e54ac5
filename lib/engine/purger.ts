/**
 * The purger: a background task that removes from disk what no reader can see any more —
 * tombstones older than the purge age (kv_engine's metadata purge), raising each vBucket's
 * purge seqno, and items a FLUSH made invisible. It reads a snapshot in chunks and yields to the
 * event loop between them, and removes an item only if no client changed it since.
 */
import { log } from '../log.js';
import type { Store } from '../store/store.js';
import type { Engine } from './engine.js';
import { nowSeconds } from './expiry.js';
import { recordSeqno } from '../store/record.js';

export interface PurgerOptions {
  /** Seconds a tombstone is kept for change-stream consumers that have not seen it yet. */
  maxAge: number;
  /** Seconds between passes. */
  interval: number;
}

export class Purger {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly engine: Engine,
    private readonly options: PurgerOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.options.interval * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One pass; returns how many records it queued for removal. */
  runOnce(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<number> {
    let purged = 0;
    for await (const chunk of this.store.scanItemsSnapshot()) {
      if (this.stopped) break;
      const now = nowSeconds();
      for (const { itemKey, record } of chunk) {
        if (this.engine.isPurgeable(record, now, this.options.maxAge) && this.engine.purge(itemKey, recordSeqno(record))) purged++;
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    if (purged > 0) log.info(`purger: removed ${purged} tombstones and flushed items`);
    return purged;
  }
}
