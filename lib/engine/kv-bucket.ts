/**
 * The vBucket map and its lifecycle (kv_engine's KVBucket): which vBuckets exist and in what
 * state, creating, changing and deleting them, persisting their states, and the traffic gate
 * that keeps item operations out until warmup has made the failover entries durable.
 */
import type { Store, VBStateRecord } from '../store/store.js';
import type { ItemStorage } from './item-storage.js';
import { Outcome } from './outcome.js';
import type { EngineStats } from './stats.js';
import { VBucket, VBucketState } from './vbucket.js';

export class KVBucket {
  private readonly map: Array<VBucket | undefined>;
  /** Item reads are served (writes may still be refused). */
  private reads = false;
  /** Item reads and writes are served. */
  private traffic = false;

  constructor(
    private readonly store: Store,
    private readonly storage: ItemStorage,
    private readonly stats: EngineStats,
    count: number,
    /** The CAS high-water mark, persisted with every state. */
    private readonly maxCas: () => number,
  ) {
    this.map = new Array<VBucket | undefined>(count).fill(undefined);
  }

  get count(): number {
    return this.map.length;
  }

  get(vbid: number): VBucket | undefined {
    return this.map[vbid];
  }

  /** Every vBucket that exists, by id. */
  all(): VBucket[] {
    return this.map.filter((v): v is VBucket => v !== undefined);
  }

  /** False until warmup has made the failover entries durable: no seqno may be issued. */
  get trafficEnabled(): boolean {
    return this.traffic;
  }

  /** Reads only: warmup loaded the vBuckets but cannot persist their new failover entries yet
   * (a full disk); reads issue no seqno, so they may be served. */
  enableReads(): void {
    this.reads = true;
  }

  enableTraffic(): void {
    this.reads = true;
    this.traffic = true;
  }

  /** The vBucket an item write may use, or the outcome to answer instead: TempFail while
   * warming up, NotMyVBucket when it does not exist or is not active. */
  active(vbid: number): VBucket | Outcome {
    return this.traffic ? this.activeOrNot(vbid) : Outcome.TempFail;
  }

  /** The same for an item read, which is served earlier (see enableReads). */
  readable(vbid: number): VBucket | Outcome {
    return this.reads ? this.activeOrNot(vbid) : Outcome.TempFail;
  }

  /** The vBucket a DCP stream may follow: active or replica (a replica's stream carries what
   * it received), or the outcome to answer. */
  streamable(vbid: number): VBucket | Outcome {
    if (!this.traffic) return Outcome.TempFail;
    const vb = this.map[vbid];
    return vb !== undefined && (vb.state === VBucketState.Active || vb.state === VBucketState.Replica) ? vb : Outcome.NotMyVBucket;
  }

  private activeOrNot(vbid: number): VBucket | Outcome {
    const vb = this.map[vbid];
    return vb !== undefined && vb.state === VBucketState.Active ? vb : Outcome.NotMyVBucket;
  }

  /** Puts a vBucket loaded or created by warmup in place. */
  install(vb: VBucket): void {
    this.map[vb.id] = vb;
  }

  /** Persists the states of `only` (default: every vBucket), current failover tables included,
   * and returns once they are committed and synced; from then on the flusher writes those
   * tables. */
  async persistStates(extraMeta?: ReadonlyMap<string, unknown>, only?: readonly VBucket[]): Promise<void> {
    const records = new Map<number, VBStateRecord>();
    const vbs = only ?? this.all();
    for (const vb of vbs) records.set(vb.id, vb.toRecord(this.maxCas(), vb.failovers));
    await this.store.persistVBStatesNow(records, extraMeta);
    for (const vb of vbs) vb.failoversOnDisk = vb.failovers.copy();
  }

  /** SET_VBUCKET. A vBucket made active from another state starts a new branch of history; the
   * new state and entry are on disk before the vBucket takes its first write, so no seqno is
   * ever issued under an entry not on disk. A replica stops taking its stream first and
   * settles what it received; its entry goes at the persisted snapshot's end when that
   * snapshot is whole, else at its start (kv_engine's rule). */
  async setState(vbid: number, state: VBucketState): Promise<Outcome> {
    if (vbid >= this.map.length) return Outcome.NotMyVBucket;
    let vb = this.map[vbid];
    if (vb === undefined) {
      vb = new VBucket(vbid);
      vb.state = state;
      this.map[vbid] = vb;
      await this.persistStates(undefined, [vb]);
      return Outcome.Success;
    }
    if (vb.state === state) return Outcome.Success;
    const table = vb.failovers.copy();
    if (state === VBucketState.Active) {
      if (vb.state === VBucketState.Replica || vb.state === VBucketState.Pending) {
        vb.acceptsReplication = false;
        await this.storage.settle();
        table.createEntry(vb.persistedHighSeqno >= vb.snapEnd ? vb.persistedHighSeqno : vb.snapStart);
      } else {
        table.createEntry(vb.highSeqno);
      }
    }
    const record = { ...vb.toRecord(this.maxCas(), table), state };
    await this.store.persistVBStatesNow(new Map([[vb.id, record]]));
    vb.failovers = table;
    vb.failoversOnDisk = table.copy();
    vb.state = state;
    vb.acceptsReplication = true;
    vb.markers.length = 0;
    return Outcome.Success;
  }

  /** DEL_VBUCKET: the vBucket is gone at once; its data is removed from disk before `done`. */
  remove(vbid: number): { outcome: Outcome; done: Promise<void> } {
    const vb = this.map[vbid];
    if (vb === undefined) return { outcome: Outcome.NotMyVBucket, done: Promise.resolve() };
    vb.deleted = true;
    vb.pending.clear();
    vb.listeners.clear();
    this.storage.dropVBucket(vbid);
    this.stats.curr_items -= vb.numItems;
    this.stats.bytes -= vb.numBytes;
    this.map[vbid] = undefined;
    // Sent now, not once the flusher is idle: a vBucket made again under this id persists its
    // state and writes after this request, which the store carries out in order (a late one
    // deleted them). A batch already sent reaches LMDB before it; later batches skip the
    // queued writes of this vBucket (vb.deleted).
    const done = this.store.deleteVBucket(vbid);
    return { outcome: Outcome.Success, done };
  }
}
