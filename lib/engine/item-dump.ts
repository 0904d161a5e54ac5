/**
 * The live items memcached's dump commands list. `lru_crawler metadump` walks every item
 * (memcached walks its whole hash table; here everything is in LMDB, read in chunks with no
 * read transaction held between them, so a slow reader costs no disk); `stats cachedump`
 * lists what is resident (memcached lists one LRU). Expired, deleted and flushed items are
 * left out, as memcached leaves them out.
 */
import { ItemState, recordExpiry, recordState } from '../store/record.js';
import { isExpired, nowSeconds } from './expiry.js';
import type { FlushEvents } from './flush-barrier.js';
import type { ItemStorage } from './item-storage.js';
import { keyRefOf } from './requests.js';

export interface DumpedItem {
  /** The vBucket prefix, then the client's key. */
  itemKey: Buffer;
  record: Buffer;
  /** ItemCache.access: last access and fetched bit, packed; -1 when not resident. */
  access: number;
}

export interface DumpChunk {
  items: DumpedItem[];
  /** Where the next chunk starts; null when the walk is done. */
  next: Buffer | null;
}

export class ItemDump {
  constructor(
    private readonly storage: ItemStorage,
    private readonly flushes: FlushEvents,
  ) {}

  /** Resolves once every write acknowledged so far is in LMDB, so the walk sees it. */
  appliedSoFar(): Promise<void> {
    return this.storage.appliedSoFar();
  }

  /** The live items among the next `limit` committed ones after `after` (null: the first). */
  committed(after: Buffer | null, limit: number): DumpChunk {
    const scanned = this.storage.scanCommitted(after, limit);
    const now = nowSeconds();
    const items: DumpedItem[] = [];
    for (const { itemKey, record } of scanned) {
      if (this.live(record, now)) items.push({ itemKey, record, access: this.storage.accessOf(keyRefOf(itemKey)) });
    }
    return { items, next: scanned.length < limit ? null : scanned[scanned.length - 1].itemKey };
  }

  /** The live resident items: item key (latin1) and record. */
  *resident(): Generator<[string, Buffer]> {
    const now = nowSeconds();
    for (const entry of this.storage.residents()) if (this.live(entry[1], now)) yield entry;
  }

  private live(record: Buffer, now: number): boolean {
    return recordState(record) === ItemState.Live && !this.flushes.hides(record) && !isExpired(recordExpiry(record), now);
  }
}
