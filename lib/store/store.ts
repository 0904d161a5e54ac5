/**
 * The only module that touches LMDB (lmdb-js). Reads are synchronous from the last committed
 * snapshot; writes are applied in one asynchronous transaction per flusher batch.
 *
 * Guarantees, in lmdb-js's terms (overlappingSync, its default on Linux): a batch whose promise
 * has resolved is *committed*: visible to readers and kept after the process is killed (even
 * SIGKILL), because the commit is in the OS page cache and lmdb-js restores the latest committed
 * transaction when the machine has not rebooted. `flushed()` resolves once everything committed
 * so far is also fsync'd, which is what survives a power loss.
 */
import { open, type Database, type RootDatabase } from 'lmdb';

/** One item write: a record to store, or null to remove the key. */
export interface ItemWrite {
  key: Buffer;
  record: Buffer | null;
}

export interface StoreOptions {
  path: string;
  /** LMDB map size in bytes; it grows as needed, this is the initial reservation. */
  mapSize?: number;
}

export class Store {
  private readonly env: RootDatabase;
  private readonly items: Database<Buffer, Buffer>;
  private readonly meta: Database<unknown, string>;

  constructor(options: StoreOptions) {
    this.env = open({ path: options.path, mapSize: options.mapSize ?? 1024 * 1024 * 1024 });
    this.items = this.env.openDB<Buffer, Buffer>({ name: 'items', keyEncoding: 'binary', encoding: 'binary' });
    this.meta = this.env.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
  }

  /** The committed record for `key`, as a view that is only valid until the next store call. */
  getItem(key: Buffer): Buffer | undefined {
    const shared = this.items.getBinaryFast(key);
    // getBinaryFast answers with lmdb-js's shared read buffer whose `length` is patched to the
    // record's; Buffer methods that ignore `length` (copy, Buffer.from) would see 16 MiB, so
    // hand out a true view of exactly the record.
    return shared === undefined ? undefined : shared.subarray(0, shared.length);
  }

  /** Every committed item, in key order, starting after `after` (exclusive) when given.
   * Records are views valid only until the iterator advances. */
  *scanItems(after?: Buffer, limit?: number): Generator<{ key: Buffer; record: Buffer }> {
    const range = this.items.getRange({ start: after, limit: limit === undefined ? undefined : limit + 1 });
    for (const { key, value } of range) {
      if (after && key.equals(after)) continue;
      yield { key, record: value };
    }
  }

  getMeta<T>(name: string): T | undefined {
    return this.meta.get(name) as T | undefined;
  }

  /** Applies item writes and metadata updates atomically in one transaction. Plain queued
   * puts, not `transaction(callback)`: lmdb-js commits every write queued in one event turn in
   * one transaction (eventTurnBatching, on by default) and runs them on its write thread, so
   * the main thread never waits for the write lock. The last write's promise settles when that
   * transaction commits. */
  writeBatch(writes: readonly ItemWrite[], meta?: ReadonlyMap<string, unknown>): Promise<unknown> {
    let last: Promise<unknown> = Promise.resolve(true);
    for (const w of writes) last = w.record ? this.items.put(w.key, w.record) : this.items.remove(w.key);
    if (meta) for (const [name, value] of meta) last = this.meta.put(name, value);
    return last;
  }

  /** Metadata written synchronously: for start-up and shutdown, never on a request path. */
  putMetaSync(name: string, value: unknown): void {
    this.meta.putSync(name, value);
  }

  /** Makes the next read see the latest commit (called right after a batch commits). */
  refreshReads(): void {
    this.env.resetReadTxn();
  }

  /** Resolves when everything committed so far is synced to disk. */
  flushed(): Promise<unknown> {
    return Promise.resolve(this.env.flushed);
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
