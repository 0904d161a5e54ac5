/**
 * The only module that touches LMDB (lmdb-js). Reads are synchronous from the last committed
 * snapshot; writes are applied in one asynchronous transaction per flusher batch.
 *
 * Guarantees, in lmdb-js's terms (overlappingSync, its default on Linux): a batch whose promise
 * has resolved is *committed*: visible to readers and kept after the process is killed (even
 * SIGKILL), because the commit is in the OS page cache and lmdb-js restores the latest committed
 * transaction when the machine has not rebooted. `flushed()` resolves once everything committed
 * so far is also fsync'd, which is what survives a power loss.
 *
 * Databases: `items` (vbid u16 BE + key → item record), `seqnos` (vbid u16 BE + seqno u64 BE →
 * key, one entry per live item or tombstone), `vbstate` (vbid → VBStateRecord), `meta`.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { VBStateRecord } from '../engine/vbucket.js';

/** One item write: a record to store (null removes the key), its seqno, and the seqno LMDB
 * holds for the key now (0 none; -1 or absent: not known, read it), whose index entry is
 * dropped. */
export interface ItemWrite {
  key: Buffer;
  record: Buffer | null;
  seqno: number;
  prevSeqno?: number;
}

export interface StoreOptions {
  path: string;
  /** LMDB map size in bytes; it grows as needed, this is the initial reservation. */
  mapSize?: number;
}

const SEQNO_OFFSET_IN_RECORD = 20;

export function seqnoKey(vbid: number, seqno: number): Buffer {
  const k = Buffer.allocUnsafe(10);
  k.writeUInt16BE(vbid, 0);
  k.writeBigUInt64BE(BigInt(seqno), 2);
  return k;
}

export class Store {
  private readonly env: RootDatabase;
  private readonly items: Database<Buffer, Buffer>;
  private readonly seqnos: Database<Buffer, Buffer>;
  private readonly vbstates: Database<VBStateRecord, number>;
  private readonly meta: Database<unknown, string>;

  constructor(options: StoreOptions) {
    this.env = open({ path: options.path, mapSize: options.mapSize ?? 1024 * 1024 * 1024 });
    this.items = this.env.openDB<Buffer, Buffer>({ name: 'items', keyEncoding: 'binary', encoding: 'binary' });
    this.seqnos = this.env.openDB<Buffer, Buffer>({ name: 'seqnos', keyEncoding: 'binary', encoding: 'binary' });
    this.vbstates = this.env.openDB<VBStateRecord, number>({ name: 'vbstate', keyEncoding: 'uint32', encoding: 'msgpack' });
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

  /** Every committed item in key order, read from one snapshot (a read transaction held for the
   * whole scan), in chunks: the caller may yield between chunks and still sees one point in time.
   * Records are copies. */
  async *scanItemsSnapshot(chunk = 10_000): AsyncGenerator<Array<{ key: Buffer; record: Buffer }>> {
    const txn = this.env.useReadTransaction();
    try {
      let start: Buffer | undefined;
      for (;;) {
        const out: Array<{ key: Buffer; record: Buffer }> = [];
        for (const { key, value } of this.items.getRange({ start, limit: chunk + 1, transaction: txn })) {
          if (start && key.equals(start)) continue;
          if (out.length === chunk) break;
          out.push({ key, record: Buffer.from(value) });
        }
        if (out.length === 0) return;
        start = out[out.length - 1].key;
        yield out;
        if (out.length < chunk) return;
      }
    } finally {
      txn.done();
    }
  }

  /** Keys of one vBucket's seqno index from `from` (inclusive) upward, in seqno order. */
  *scanSeqnos(vbid: number, from: number, to: number): Generator<{ seqno: number; key: Buffer }> {
    for (const { key, value } of this.seqnos.getRange({ start: seqnoKey(vbid, from), end: seqnoKey(vbid, to + 1) })) {
      yield { seqno: Number(key.readBigUInt64BE(2)), key: value };
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

  /** Applies item writes (keeping the seqno index to one entry per key), vBucket states and
   * metadata atomically in one transaction. Plain queued writes, not `transaction(callback)`:
   * lmdb-js commits every write queued in one event turn in one transaction
   * (eventTurnBatching, on by default) and runs them on its write thread, so the main thread
   * never waits for the write lock. The last write's promise settles when it commits. */
  writeBatch(writes: readonly ItemWrite[], vbstates?: ReadonlyMap<number, VBStateRecord>, meta?: ReadonlyMap<string, unknown>): Promise<unknown> {
    let last: Promise<unknown> = Promise.resolve(true);
    for (const w of writes) {
      const vbid = w.key.readUInt16BE(0);
      let oldSeqno = w.prevSeqno ?? -1;
      if (oldSeqno < 0) {
        // The batch before this one is committed, so LMDB holds the key's previous seqno.
        const old = this.items.getBinaryFast(w.key);
        oldSeqno = old === undefined ? 0 : Number(old.readBigUInt64BE(SEQNO_OFFSET_IN_RECORD));
      }
      if (oldSeqno > 0 && (oldSeqno !== w.seqno || w.record === null)) this.seqnos.remove(seqnoKey(vbid, oldSeqno));
      if (w.record) {
        this.items.put(w.key, w.record);
        last = this.seqnos.put(seqnoKey(vbid, w.seqno), w.key.subarray(2));
      } else {
        last = this.items.remove(w.key);
      }
    }
    if (vbstates) for (const [vbid, state] of vbstates) last = this.vbstates.put(vbid, state);
    if (meta) for (const [name, value] of meta) last = this.meta.put(name, value);
    return last;
  }

  /** Writes vBucket states (and metadata) and returns once they are committed and synced:
   * warmup's persistVBState, SET_VBUCKET, shutdown. Never on a request hot path. */
  async persistVBStatesNow(vbstates: ReadonlyMap<number, VBStateRecord>, meta?: ReadonlyMap<string, unknown>): Promise<void> {
    this.env.transactionSync(() => {
      for (const [vbid, state] of vbstates) this.vbstates.putSync(vbid, state);
      if (meta) for (const [name, value] of meta) this.meta.putSync(name, value);
    });
    await this.flushed();
  }

  /** Metadata written synchronously: for start-up and shutdown, never on a request path. */
  putMetaSync(name: string, value: unknown): void {
    this.meta.putSync(name, value);
  }

  /** Removes every item, seqno entry and the state of one vBucket, in chunked transactions. */
  async deleteVBucket(vbid: number): Promise<void> {
    const lo = Buffer.from([vbid >> 8, vbid & 0xff]);
    const hi = Buffer.from([(vbid + 1) >> 8, (vbid + 1) & 0xff]);
    for (;;) {
      const keys = [...this.items.getKeys({ start: lo, end: vbid === 0xffff ? undefined : hi, limit: 10_000 })];
      const seqs = [...this.seqnos.getKeys({ start: lo, end: vbid === 0xffff ? undefined : hi, limit: 10_000 })];
      if (keys.length === 0 && seqs.length === 0) break;
      let last: Promise<unknown> = Promise.resolve(true);
      for (const k of keys) last = this.items.remove(k);
      for (const k of seqs) last = this.seqnos.remove(k);
      await last;
    }
    await this.vbstates.remove(vbid);
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
