/**
 * The Store on LMDB (lmdb-js; with lmdb-databases.ts and the write thread, the only modules
 * that import it). Reads are synchronous on the main thread, from the last committed snapshot;
 * every write goes to the write thread (write-worker.ts), in order, one synchronous
 * transaction per batch there.
 *
 * Guarantees, in lmdb-js's terms (overlappingSync, its default on Linux): a batch whose promise
 * has resolved is *committed*: visible to readers and kept after the process is killed (even
 * SIGKILL), because the commit is in the OS page cache and lmdb-js restores the latest committed
 * transaction when the machine has not rebooted. `flushed()` resolves once everything committed
 * so far is also fsync'd, which is what survives a power loss.
 *
 * Databases and layouts: lmdb-databases.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, RootDatabase, Transaction } from 'lmdb';
import { checkLmdbFile } from './lmdb-file-check.js';
import { DEFAULT_MAP_SIZE, openDatabases } from './lmdb-databases.js';
import { encodeSeqnoKey, encodeItemKey, seqnoKeySeqno } from './key-codec.js';
import { checkRecordFormat } from './record.js';
import type { ItemKeySource, ItemWrite, ReadSnapshot, ReplayReport, ScannedItem, Store, VBStateProgress, VBStateRecord } from './store.js';
import { BatchBuffers } from './batch-buffers.js';
import { encodeWriteBatch, writeBatchBytes } from './write-batch-codec.js';
import { WriteThread } from './write-thread.js';

/** lmdb-js's getBinaryFast takes a read transaction at run time (read.js), though its typings
 * omit the parameter. */
interface FastReadIn {
  getBinaryFast(id: Buffer, options: { transaction: Transaction }): Buffer | undefined;
}

export interface LmdbStoreOptions {
  path: string;
  /** LMDB map size in bytes; it grows as needed, this is the initial reservation. */
  mapSize?: number;
  /** A test hook (LMCACHED_APPLY_DELAY_MS): committed batches wait this long before LMDB. */
  applyHoldMs?: number;
  /** A test hook (LMCACHED_COMMIT_REPLY_DELAY_MS): synced batches are answered this late. */
  commitReplyDelayMs?: number;
}

export class LmdbStore implements Store {
  private readonly env: RootDatabase;
  private readonly items: Database<Buffer, Buffer>;
  private readonly seqnos: Database<Buffer, Buffer>;
  private readonly vbstates: Database<VBStateRecord, number>;
  private readonly meta: Database<unknown, string>;
  private readonly writer: WriteThread;
  private readonly batchBuffers = new BatchBuffers();
  private readonly appliedListeners: Array<(through: number) => void> = [];
  private nextBatch = 1;

  /** Throws DataFormatError for an existing data.mdb that is not a whole LMDB file. */
  constructor(options: LmdbStoreOptions) {
    const file = join(options.path, 'data.mdb');
    if (existsSync(file)) checkLmdbFile(file);
    const mapSize = options.mapSize ?? DEFAULT_MAP_SIZE;
    ({ env: this.env, items: this.items, seqnos: this.seqnos, vbstates: this.vbstates, meta: this.meta } = openDatabases(options.path, mapSize));
    this.writer = new WriteThread({ path: options.path, mapSize, applyHoldMs: options.applyHoldMs ?? 0, commitReplyDelayMs: options.commitReplyDelayMs ?? 0, threadIds: new Int32Array(new SharedArrayBuffer(8)), started: new Int32Array(new SharedArrayBuffer(4)) }, (n) => {
      for (const l of this.appliedListeners) l(n.applied);
    });
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

  /** Sent to the write thread as one buffer; settles with its number once the batch is in the
   * commit log, synced. */
  writeBatch<W extends ItemWrite>(writes: readonly W[], vbstates: ReadonlyMap<number, VBStateRecord>, meta: ReadonlyMap<string, unknown>, progress?: VBStateProgress, keys?: ItemKeySource<W>): Promise<number> {
    const bytes = writeBatchBytes(writes, keys);
    const buffer = this.batchBuffers.take(bytes);
    encodeWriteBatch(writes, buffer, keys);
    const batch = this.nextBatch++;
    const sent = this.writer.send({ op: 'batch', batch, buffer, bytes, count: writes.length, vbstates: [...vbstates], progress: progress ?? null, meta: [...meta] });
    // Answered (or failed): the write thread no longer reads the buffer.
    const giveBack = (): void => this.batchBuffers.give(buffer);
    sent.then(giveBack, giveBack);
    return sent.then(() => {
      this.writer.expectApplied(batch);
      return batch;
    });
  }

  onApplied(listener: (through: number) => void): void {
    this.appliedListeners.push(listener);
  }

  async replayReport(): Promise<ReplayReport> {
    const reply = await this.writer.send({ op: 'replay' });
    if (reply.replay === undefined) throw new Error('write thread: no replay report');
    return reply.replay;
  }

  /** Committed and synced on the write thread, after every write sent before it. */
  async persistVBStatesNow(vbstates: ReadonlyMap<number, VBStateRecord>, meta?: ReadonlyMap<string, unknown>): Promise<void> {
    await this.writer.send({ op: 'persist', vbstates: [...vbstates], meta: meta ? [...meta] : [] });
  }

  /** In chunked transactions, so a large vBucket does not make one huge commit. */
  async deleteVBucket(vbid: number): Promise<void> {
    await this.writer.send({ op: 'deleteVBucket', vbid });
  }

  refreshReads(): void {
    this.env.resetReadTxn();
  }

  async flushed(): Promise<void> {
    await this.writer.send({ op: 'flushed' });
  }

  writeThreadIds(): number[] {
    return this.writer.threadIds;
  }

  requestsWaiting(): boolean {
    return this.writer.othersWaiting > 0;
  }

  threadsStarted(timeoutMs: number): Promise<boolean> {
    return this.writer.started(timeoutMs);
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.env.close();
  }
}
