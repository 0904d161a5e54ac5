/**
 * The Store on LMDB (lmdb-js), and the only module that imports it. Reads are synchronous from
 * the last committed snapshot; writes are applied in one asynchronous transaction per batch.
 *
 * Guarantees, in lmdb-js's terms (overlappingSync, its default on Linux): a batch whose promise
 * has resolved is *committed*: visible to readers and kept after the process is killed (even
 * SIGKILL), because the commit is in the OS page cache and lmdb-js restores the latest committed
 * transaction when the machine has not rebooted. `flushed()` resolves once everything committed
 * so far is also fsync'd, which is what survives a power loss.
 *
 * Databases: `items` (item key → record), `seqnos` (seqno key → client key, one entry per live
 * item or tombstone), `vbstate` (vbid → VBStateRecord), `meta`. Key layouts: key-codec.ts;
 * record layout: record.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb';
import { checkLmdbFile } from './lmdb-file-check.js';
import { encodeSeqnoKey, encodeItemKey, itemKeyVbid, seqnoKeySeqno, userKeyOf, vbucketKeyRange } from './key-codec.js';
import { checkRecordFormat, recordSeqno } from './record.js';
import type { ItemWrite, ReadSnapshot, ScannedItem, Store, VBStateRecord } from './store.js';

/**
 * Whether an unhandled rejection is lmdb-js echoing a failed commit. lmdb-js rejects promises
 * of its own that nobody can handle (the shared `commitError`, and internal writes) when a
 * commit fails; the failure itself reaches the flusher through writeBatch, which retries it.
 */
export function isFailedCommitEcho(reason: unknown): boolean {
  if (!(reason instanceof Error)) return false;
  if (reason.message.startsWith('Commit failed')) return true;
  return typeof Reflect.get(reason, 'code') === 'number' && (reason.stack ?? '').includes('/lmdb/write.js');
}

/**
 * The promises of one batch's writes. lmdb-js hands every write queued in one event turn the
 * same promise, except that a large batch can get a second one part way (it starts writing
 * early); each must be handled, or a failed commit becomes an unhandled rejection that ends
 * the process, and the batch is committed only when all are.
 */
class CommitPromises {
  private last: Promise<unknown> | null = null;
  private earlier: Array<Promise<unknown>> | null = null;

  add(p: Promise<unknown>): void {
    if (p === this.last) return;
    if (this.last !== null) (this.earlier ??= []).push(this.last);
    this.last = p;
  }

  all(): Promise<unknown> {
    const last = this.last ?? Promise.resolve(true);
    const all = this.earlier === null ? last : Promise.all([...this.earlier, last]);
    // lmdb-js attaches the cause as `commitError`, a promise of its own rejected with it.
    return all.catch((err: unknown) => {
      const cause: unknown = err instanceof Error ? Reflect.get(err, 'commitError') : undefined;
      if (cause instanceof Promise) return cause.then(() => Promise.reject(err), (e: unknown) => Promise.reject(e));
      return Promise.reject(err);
    });
  }
}

/** lmdb-js's getBinaryFast takes a read transaction at run time (read.js), though its typings
 * omit the parameter. */
interface FastReadIn {
  getBinaryFast(id: Buffer, options: { transaction: Transaction }): Buffer | undefined;
}

export interface LmdbStoreOptions {
  path: string;
  /** LMDB map size in bytes; it grows as needed, this is the initial reservation. */
  mapSize?: number;
}

export class LmdbStore implements Store {
  private readonly env: RootDatabase;
  private readonly items: Database<Buffer, Buffer>;
  private readonly seqnos: Database<Buffer, Buffer>;
  private readonly vbstates: Database<VBStateRecord, number>;
  private readonly meta: Database<unknown, string>;
  private readonly seqnoScratch = encodeSeqnoKey(0, 0);

  /** Throws DataFormatError for an existing data.mdb that is not a whole LMDB file. */
  constructor(options: LmdbStoreOptions) {
    const file = join(options.path, 'data.mdb');
    if (existsSync(file)) checkLmdbFile(file);
    this.env = open({ path: options.path, mapSize: options.mapSize ?? 1024 * 1024 * 1024 });
    this.items = this.env.openDB<Buffer, Buffer>({ name: 'items', keyEncoding: 'binary', encoding: 'binary' });
    this.seqnos = this.env.openDB<Buffer, Buffer>({ name: 'seqnos', keyEncoding: 'binary', encoding: 'binary' });
    this.vbstates = this.env.openDB<VBStateRecord, number>({ name: 'vbstate', keyEncoding: 'uint32', encoding: 'msgpack' });
    this.meta = this.env.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
  }

  getItem(itemKey: Buffer, transaction?: Transaction): Buffer | undefined {
    const shared = transaction === undefined ? this.items.getBinaryFast(itemKey) : (this.items as unknown as FastReadIn).getBinaryFast(itemKey, { transaction });
    if (shared === undefined) return undefined;
    // getBinaryFast answers with lmdb-js's shared read buffer whose `length` is patched to the
    // record's; Buffer methods that ignore `length` (copy, Buffer.from) would see 16 MiB, so
    // hand out a true view of exactly the record.
    const rec = shared.subarray(0, shared.length);
    checkRecordFormat(rec);
    return rec;
  }

  /** Reads through one read transaction held for the whole scan. Records are copies. */
  async *scanItemsSnapshot(chunk = 10_000): AsyncGenerator<ScannedItem[]> {
    const txn = this.env.useReadTransaction();
    try {
      let start: Buffer | undefined;
      for (;;) {
        const out: ScannedItem[] = [];
        for (const { key, value } of this.items.getRange({ start, limit: chunk + 1, transaction: txn })) {
          if (start && key.equals(start)) continue;
          if (out.length === chunk) break;
          checkRecordFormat(value);
          out.push({ itemKey: key, record: Buffer.from(value) });
        }
        if (out.length === 0) return;
        start = out[out.length - 1].itemKey;
        yield out;
        if (out.length < chunk) return;
      }
    } finally {
      txn.done();
    }
  }

  scanItems(after: Buffer | null, limit: number): ScannedItem[] {
    const out: ScannedItem[] = [];
    for (const { key, value } of this.items.getRange({ start: after ?? undefined, limit: limit + 1 })) {
      if (after !== null && key.equals(after)) continue;
      if (out.length === limit) break;
      checkRecordFormat(value);
      out.push({ itemKey: key, record: Buffer.from(value) });
    }
    return out;
  }

  /** A read transaction held until `close()` (lmdb-js keeps it apart from the shared one that
   * `refreshReads` renews). */
  openSnapshot(): ReadSnapshot {
    const txn = this.env.useReadTransaction();
    let open = true;
    return {
      getItem: (itemKey) => this.getItem(itemKey, txn),
      scanSeqnos: (vbid, from, to) => this.scanSeqnos(vbid, from, to, txn),
      close: () => {
        if (open) txn.done();
        open = false;
      },
    };
  }

  *scanSeqnos(vbid: number, from: number, to: number, transaction?: Transaction): Generator<{ seqno: number; itemKey: Buffer }> {
    for (const { key, value } of this.seqnos.getRange({ start: encodeSeqnoKey(vbid, from), end: encodeSeqnoKey(vbid, to + 1), transaction })) {
      yield { seqno: seqnoKeySeqno(key), itemKey: encodeItemKey(vbid, value, 0, value.length) };
    }
  }

  getMeta<T>(name: string): T | undefined {
    return this.meta.get(name) as T | undefined;
  }

  getVBStates(): Map<number, VBStateRecord> {
    const out = new Map<number, VBStateRecord>();
    for (const { key, value } of this.vbstates.getRange({})) out.set(key, value);
    return out;
  }

  /** A seqno-index key in a buffer reused by every call: valid until the next. */
  private seqnoKey(vbid: number, seqno: number): Buffer {
    return encodeSeqnoKey(vbid, seqno, this.seqnoScratch);
  }

  /** Plain queued writes, not `transaction(callback)`: lmdb-js commits every write queued in
   * one event turn in one transaction (eventTurnBatching, on by default) and runs them on its
   * write thread, so the main thread never waits for the write lock. The last write's promise
   * settles when it commits. */
  writeBatch(writes: readonly ItemWrite[], vbstates: ReadonlyMap<number, VBStateRecord>, meta: ReadonlyMap<string, unknown>): Promise<unknown> {
    const settled = new CommitPromises();
    for (const w of writes) {
      const vbid = itemKeyVbid(w.itemKey);
      let oldSeqno = w.prevSeqno;
      if (oldSeqno < 0) {
        // The batch before this one is committed, so LMDB holds the key's previous seqno.
        const old = this.items.getBinaryFast(w.itemKey);
        oldSeqno = old === undefined ? 0 : recordSeqno(old);
      }
      // lmdb-js copies a key into its write buffer at the call, so one scratch key serves all.
      if (oldSeqno > 0 && (oldSeqno !== w.seqno || w.record === null)) settled.add(this.seqnos.remove(this.seqnoKey(vbid, oldSeqno)));
      if (w.record) {
        settled.add(this.items.put(w.itemKey, w.record));
        settled.add(this.seqnos.put(this.seqnoKey(vbid, w.seqno), userKeyOf(w.itemKey)));
      } else {
        settled.add(this.items.remove(w.itemKey));
      }
    }
    for (const [vbid, state] of vbstates) settled.add(this.vbstates.put(vbid, state));
    for (const [name, value] of meta) settled.add(this.meta.put(name, value));
    return settled.all();
  }

  async persistVBStatesNow(vbstates: ReadonlyMap<number, VBStateRecord>, meta?: ReadonlyMap<string, unknown>): Promise<void> {
    this.env.transactionSync(() => {
      for (const [vbid, state] of vbstates) this.vbstates.putSync(vbid, state);
      if (meta) for (const [name, value] of meta) this.meta.putSync(name, value);
    });
    await this.flushed();
  }

  /** In chunked transactions, so a large vBucket does not make one huge commit. */
  async deleteVBucket(vbid: number): Promise<void> {
    const { start, end } = vbucketKeyRange(vbid);
    for (;;) {
      const keys = [...this.items.getKeys({ start, end, limit: 10_000 })];
      const seqs = [...this.seqnos.getKeys({ start, end, limit: 10_000 })];
      if (keys.length === 0 && seqs.length === 0) break;
      let last: Promise<unknown> = Promise.resolve(true);
      for (const k of keys) last = this.items.remove(k);
      for (const k of seqs) last = this.seqnos.remove(k);
      await last;
    }
    await this.vbstates.remove(vbid);
  }

  refreshReads(): void {
    this.env.resetReadTxn();
  }

  flushed(): Promise<unknown> {
    return Promise.resolve(this.env.flushed);
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
