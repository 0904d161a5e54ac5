/**
 * FLUSH as a barrier, not a sweep: a flush takes the next CAS, and every item whose CAS is at
 * or below it is invisible from then on (the purger removes such items from disk later). A
 * delayed flush is persisted with its time, so a restart still flushes on schedule.
 */
import type { Store } from '../store/store.js';
import { recordCas } from '../store/record.js';
import type { CasGenerator } from './cas.js';
import { absoluteExpiry, nowSeconds } from './expiry.js';
import type { ItemStorage } from './item-storage.js';

const META_FLUSH_CAS = 'flushCas';
const META_FLUSH_AT = 'flushAt';

/** What change streams see of FLUSH: the barrier now, and each new one as it takes effect. */
export interface FlushEvents {
  readonly barrier: number;
  /** Whether a record is invisible because a FLUSH came after it. */
  hides(record: Buffer): boolean;
  readonly listeners: Set<(barrier: number) => void>;
}

export class FlushBarrier implements FlushEvents {
  /** Items with CAS at or below this were flushed. */
  barrier: number;
  readonly listeners = new Set<(barrier: number) => void>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    store: Store,
    private readonly storage: ItemStorage,
    private readonly cas: CasGenerator,
    /** Called when a flush takes effect: forget resident items and zero the item counts. */
    private readonly flushed: () => void,
  ) {
    this.barrier = 0;
    this.reload(store);
  }

  /** The barrier and a pending delayed flush as stored (again after the commit log's replay). */
  reload(store: Store): void {
    this.barrier = Math.max(this.barrier, store.getMeta<number>(META_FLUSH_CAS) ?? 0);
    const at = store.getMeta<number>(META_FLUSH_AT) ?? 0;
    if (at > 0) this.schedule(at);
  }

  /** Whether a record is invisible because a FLUSH came after it. */
  hides(record: Buffer): boolean {
    return recordCas(record) <= this.barrier;
  }

  /** Flushes now, or `delay` seconds from now (memcached's rules for the delay); returns the
   * flusher batch that makes it durable. */
  flush(delay: number): number {
    if (delay <= 0) return this.now();
    const at = absoluteExpiry(delay, nowSeconds());
    this.schedule(at);
    return this.storage.setMeta(META_FLUSH_AT, at);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private now(): number {
    this.close();
    this.barrier = this.cas.next();
    this.flushed();
    this.storage.setMeta(META_FLUSH_AT, 0);
    const batch = this.storage.setMeta(META_FLUSH_CAS, this.barrier);
    for (const l of this.listeners) l(this.barrier);
    return batch;
  }

  /** A replica takes the active's barrier (a DCP flush message); an older one changes nothing.
   * Returns the batch that persists it, or 0. */
  adopt(barrier: number): number {
    if (barrier <= this.barrier) return 0;
    this.cas.observe(barrier);
    this.barrier = barrier;
    this.flushed();
    const batch = this.storage.setMeta(META_FLUSH_CAS, barrier);
    for (const l of this.listeners) l(barrier);
    return batch;
  }

  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.now(), Math.max(0, at * 1000 - Date.now()));
    this.timer.unref();
  }
}
