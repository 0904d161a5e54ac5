/**
 * The engine side of replica vBuckets: items arrive from the active's DCP stream with the
 * active's seqno, CAS, flags, expiry and datatype and are applied through the same resident
 * table and flusher as client writes (one LMDB transaction per batch, vBucket state included).
 * A replica issues no seqno of its own: it never expires, and GET_REPLICA only hides an
 * expired item. Rollback and the adoption of the active's failover log live here too.
 */
import { ItemState, RECORD_HEADER_LENGTH, encodeRecord, encodeRecordAt, recordCasAt, recordExpiry, recordHeaderLengthAt, recordState, recordStateAt, recordValueLength, type RecordFields } from '../store/record.js';
import type { RecordLocation } from './entry-records.js';
import { PAGE_SIZE } from './record-arena.js';
import { fillView } from './results.js';
import type { Store } from '../store/store.js';
import type { CasGenerator } from './cas.js';
import { isExpired, nowSeconds } from './expiry.js';
import { FailoverTable, type FailoverEntry } from './failover-table.js';
import type { FlushBarrier } from './flush-barrier.js';
import type { DiskProbe, ItemStorage } from './item-storage.js';
import type { KVBucket } from './kv-bucket.js';
import { Outcome } from './outcome.js';
import type { ItemView, KeyRef } from './requests.js';
import type { EngineStats } from './stats.js';
import { VBucket, VBucketState } from './vbucket.js';

/** One item as the active's stream carries it. */
export interface ReplicatedItem {
  vbid: number;
  state: ItemState;
  seqno: number;
  cas: number;
  flags: number;
  expiry: number;
  datatype: number;
  revSeqno: number;
  key: Buffer;
  /** Null for a deletion or expiration. */
  value: Buffer | null;
}

/** Where a replica resumes its stream: its vbuuid, high seqno and snapshot. */
export interface ReplicaPosition {
  vbuuid: bigint;
  seqno: number;
  snapStart: number;
  snapEnd: number;
}

export class ReplicaVBuckets {
  private readonly probe: DiskProbe = { diskSeqno: -1, rev: 0, entry: -1 };
  /** Reused for every item applied. */
  private readonly key: KeyRef = { vbid: 0, buf: Buffer.alloc(0), offset: 0, length: 0 };
  private readonly fields: RecordFields = { state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: 0, seqno: 0, revSeqno: 0 };
  private readonly located: RecordLocation = { buf: Buffer.alloc(0), offset: 0, length: 0, data: null };

  constructor(
    private readonly store: Store,
    private readonly storage: ItemStorage,
    private readonly vbuckets: KVBucket,
    private readonly cas: CasGenerator,
    private readonly stats: EngineStats,
    private readonly flushBarrier: FlushBarrier,
  ) {}

  /** The replica vBucket that may take replicated items, or the outcome to answer. */
  private target(vbid: number): VBucket | Outcome {
    if (!this.vbuckets.trafficEnabled) return Outcome.TempFail;
    const vb = this.vbuckets.get(vbid);
    // Pending: the last phase of a takeover, which still brings items.
    if (vb === undefined || (vb.state !== VBucketState.Replica && vb.state !== VBucketState.Pending) || !vb.acceptsReplication) return Outcome.NotMyVBucket;
    return vb;
  }

  /** Every replica vBucket, by id. */
  list(): VBucket[] {
    return this.vbuckets.all().filter((vb) => vb.state === VBucketState.Replica);
  }

  /** The position a stream request for `vbid` resumes from (what is applied, in memory). */
  position(vb: VBucket): ReplicaPosition {
    return { vbuuid: vb.uuid, seqno: vb.highSeqno, snapStart: vb.receivedSnapStart, snapEnd: vb.receivedSnapEnd };
  }

  /** A DCP snapshot marker: the items that follow belong to [start, end]. */
  snapshot(vbid: number, start: number, end: number): Outcome {
    const vb = this.target(vbid);
    if (typeof vb === 'number') return vb;
    vb.receivedSnapStart = start;
    vb.receivedSnapEnd = end;
    vb.markers.push({ start, end });
    return Outcome.Success;
  }

  /** Applies one mutation, deletion or expiration with the active's metadata. A seqno at or
   * below what the vBucket holds is a repeat and is skipped. `item.key` and `item.value` may be
   * views of a received frame: nothing here keeps them. */
  apply(item: ReplicatedItem): Outcome {
    const vb = this.target(item.vbid);
    if (typeof vb === 'number') return vb;
    if (item.seqno <= vb.highSeqno) return Outcome.Success;
    const key = this.key;
    key.vbid = vb.id;
    key.buf = item.key;
    key.length = item.key.length;
    const oldLength = this.oldLiveLength(key);
    const live = item.state === ItemState.Live;
    // A tombstone's expiry field holds its deletion time, which the purger ages it by.
    const f = this.fields;
    f.state = item.state;
    f.datatype = live ? item.datatype : 0;
    f.flags = live ? item.flags : 0;
    f.expiry = live ? item.expiry : nowSeconds();
    f.cas = item.cas;
    f.seqno = item.seqno;
    f.revSeqno = item.revSeqno;
    const value = live ? item.value : null;
    const valueLength = value === null ? 0 : value.length;
    // An item the active flushed before we were told (its CAS under the barrier) is not counted.
    const counted = live && item.cas > this.flushBarrier.barrier;
    const newLength = counted ? valueLength : 0;
    const itemsDelta = (counted ? 1 : 0) - (oldLength < 0 ? 0 : 1);
    const bytesDelta = newLength - Math.max(0, oldLength);
    this.stats.curr_items += itemsDelta;
    vb.numItems += itemsDelta;
    this.stats.bytes += bytesDelta;
    vb.numBytes += bytesDelta;
    vb.highSeqno = item.seqno;
    // A promoted replica must never issue a CAS at or below one it replicated.
    this.cas.observe(item.cas);
    const length = RECORD_HEADER_LENGTH + valueLength;
    const chunk = this.storage.reserveRecord(length);
    if (chunk < 0) {
      this.storage.write(vb, key, encodeRecord(f, value, 0, valueLength), item.seqno, false, this.probe.entry);
      return Outcome.Success;
    }
    // Straight into the resident table's arena, as a client's SET: no Buffer for the record.
    const page = this.storage.chunkPage(chunk);
    encodeRecordAt(page, chunk % PAGE_SIZE, f, value, 0, valueLength, this.storage.chunkData(chunk));
    this.storage.writeChunk(vb, key, chunk, length, item.seqno, this.probe.entry);
    return Outcome.Success;
  }

  /** The value length of the key's live, unflushed record (-1: none), with its resident entry
   * noted in the probe for the write that follows. */
  private oldLiveLength(key: KeyRef): number {
    const loc = this.located;
    const e = this.storage.locateResident(key, false, loc);
    if (e >= 0) {
      this.probe.entry = e;
      const { buf, offset, length } = loc;
      return recordStateAt(buf, offset) === ItemState.Live && recordCasAt(buf, offset) > this.flushBarrier.barrier ? length - recordHeaderLengthAt(buf, offset) : -1;
    }
    const old = this.storage.lookupStored(key, this.probe);
    return old !== undefined && recordState(old) === ItemState.Live && !this.flushBarrier.hides(old) ? recordValueLength(old) : -1;
  }

  /** The active flushed: every item with a CAS at or below `barrier` is gone here too. */
  flush(barrier: number): void {
    this.flushBarrier.adopt(barrier);
  }

  /** GET_REPLICA: the item in a replica vBucket; an expired one is hidden, never deleted (only
   * the active issues expirations). */
  get(key: KeyRef, view: ItemView): Outcome {
    if (!this.vbuckets.trafficEnabled) return Outcome.TempFail;
    const vb = this.vbuckets.get(key.vbid);
    if (vb === undefined || vb.state !== VBucketState.Replica) return Outcome.NotMyVBucket;
    const rec = this.storage.lookup(key, this.probe);
    if (rec === undefined || recordState(rec) !== ItemState.Live || this.flushBarrier.hides(rec)) return Outcome.NotFound;
    const expiry = recordExpiry(rec);
    if (expiry !== 0 && isExpired(expiry, nowSeconds())) return Outcome.NotFound;
    // A view from LMDB is valid only until the next store call: the reply gets a copy.
    fillView(view, this.probe.diskSeqno >= 0 ? Buffer.from(rec) : rec);
    return Outcome.Success;
  }

  /** Takes the active's failover log as the vBucket's own (kv_engine does on stream accept)
   * and persists it before returning. */
  async adoptFailoverLog(vb: VBucket, entries: readonly FailoverEntry[]): Promise<void> {
    const table = new FailoverTable([...entries]);
    if (table.size === 0) return;
    vb.failovers = table;
    await this.vbuckets.persistStates(undefined, [vb]);
  }

  /** ROLLBACK to `to`: when nothing the vBucket holds (committed or pending) is newer than `to`,
   * only its position moves back; otherwise it is emptied for a full resync, since LMDB keeps
   * one version per key and the older ones are gone. Returns where to stream from. */
  async rollback(vb: VBucket, to: number): Promise<{ position: ReplicaPosition; resync: boolean }> {
    await this.storage.settle();
    const current = this.vbuckets.get(vb.id);
    if (current !== vb) throw new Error(`vBucket ${vb.id} changed during rollback`);
    if (to > 0 && vb.purgeSeqno <= to && !this.holdsAbove(vb, to)) {
      vb.highSeqno = to;
      vb.persistedHighSeqno = to;
      vb.appliedHighSeqno = to;
      vb.snapStart = vb.snapEnd = vb.receivedSnapStart = vb.receivedSnapEnd = to;
      vb.markers.length = 0;
      await this.vbuckets.persistStates(undefined, [vb]);
      return { position: this.position(vb), resync: false };
    }
    const { done } = this.vbuckets.remove(vb.id);
    await done;
    const fresh = new VBucket(vb.id, FailoverTable.fresh());
    fresh.state = VBucketState.Replica;
    this.vbuckets.install(fresh);
    await this.vbuckets.persistStates(undefined, [fresh]);
    return { position: { vbuuid: 0n, seqno: 0, snapStart: 0, snapEnd: 0 }, resync: true };
  }

  /** Whether the vBucket holds any item with a seqno above `seqno`. */
  private holdsAbove(vb: VBucket, seqno: number): boolean {
    if ((vb.pending.newest()?.seqno ?? 0) > seqno) return true;
    for (const _ of this.store.scanSeqnos(vb.id, seqno + 1, Number.MAX_SAFE_INTEGER)) return true;
    return false;
  }
}
