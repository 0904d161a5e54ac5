/**
 * A replica node's link to its active (--replica-of): one DCP connection opened as a producer
 * connection on the active with NOOPs and flow control, one stream per replica vBucket
 * requested from what this node holds (vbuuid, seqno, snapshot), items applied to the replica
 * vBuckets, ROLLBACK handled as the active rules, and reconnection with back-off when the
 * active goes away. A vBucket whose history the active does not share at all is left alone
 * (logged) unless --replica-force allows wiping it.
 */
import { DcpConsumer, DcpError, type ConsumerEvents, type ReceivedMeta, type VbPosition } from '../dcp/consumer.js';
import type { Engine } from '../engine/engine.js';
import { FailoverTable } from '../engine/failover-table.js';
import { Outcome } from '../engine/outcome.js';
import type { ReplicatedItem } from '../engine/replica-vbuckets.js';
import { VBucketState, type VBucket } from '../engine/vbucket.js';
import { log } from '../log.js';
import { ItemState } from '../store/record.js';
import { STATUS_CODE } from '../../protocol/status.js';
import { STREAM_FLAG } from '../../protocol/dcp.js';
import type { ClientTls } from '../tls/client-tls.js';

export interface ReplicatorOptions {
  host: string;
  port: number;
  /** Wipe and resync a vBucket that shares no history with the active's. */
  force: boolean;
  /** The DCP connection name the active sees. */
  name: string;
  /** SASL credentials for an active started with -S (--replica-user, --replica-password-file). */
  auth?: { user: string; password: string };
  /** TLS to an active started with -Z (--replica-tls); null or absent: plain TCP. */
  tls?: ClientTls | null;
}

/** The flow-control window the active may fill before we acknowledge. */
const BUFFER_BYTES = 10 * 1024 * 1024;
/** The active closes a connection that misses a NOOP for this long; so do we. */
const NOOP_SECONDS = 10;
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5000;
/** The active's stream waits (flow control) while this much is applied here and not yet
 * committed, or while commits fail: a replica's memory stays bounded when its disk is slow or
 * full. */
const APPLY_BACKLOG_BYTES = 16 * 1024 * 1024;
const ACK_CHECK_MS = 50;
/** A stream the active ended (its vBucket changed state) is asked for again after this. */
const STREAM_RETRY_MS = 1000;

export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'stopped';

/** What `stats replication` reports per replica vBucket. */
export interface VbLink {
  streaming: boolean;
  /** The seqno the last stream request started from (after any rollback). */
  streamedFrom: number;
  lastReceivedSeqno: number;
  lastItemAt: number;
  /** The high seqno of the active's latest snapshot marker: lag in items is this minus the last received. */
  activeSnapEnd: number;
  /** When this replica last fell behind (a marker announced seqnos not yet applied); 0 while
   * caught up. Lag in milliseconds is the time since. */
  behindSince: number;
  rollbacks: number;
  resyncs: number;
  /** The active's history shares nothing with this copy: left alone (see --replica-force). */
  conflict: boolean;
}

/** A vBucket that shares no history with the active's. */
class HistoryConflict extends Error {}

export class Replicator {
  state: LinkState = 'disconnected';
  reconnects = 0;
  /** Flushes of the active applied here. */
  flushes = 0;
  readonly vbs = new Map<number, VbLink>();
  private consumer: DcpConsumer | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  private backoff = RECONNECT_FIRST_MS;
  private stopped = false;
  /** Reused for every item applied. */
  private readonly item: ReplicatedItem = { vbid: 0, state: ItemState.Live, seqno: 0, cas: 0, flags: 0, expiry: 0, datatype: 0, revSeqno: 0, key: Buffer.alloc(0), value: null };
  /** Takeovers under way: vBucket → settles when it is active here (or failed). */
  private readonly takeovers = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private readonly events: ConsumerEvents = {
    accepted: (vb, failoverLog) => this.accepted(vb, failoverLog),
    snapshot: (vb, start, end) => this.snapshot(vb, start, end),
    mutation: (vb, seqno, key, value, flags, expiry, cas, meta) => this.apply(vb, ItemState.Live, seqno, key, value, flags, expiry, cas, meta),
    deletion: (vb, seqno, key, cas, meta) => this.apply(vb, ItemState.Deleted, seqno, key, null, 0, 0, cas, meta),
    expiration: (vb, seqno, key, cas, meta) => this.apply(vb, ItemState.Expired, seqno, key, null, 0, 0, cas, meta),
    rollback: (vb, seqno) => this.rollback(vb, seqno),
    streamEnd: (vb, flags) => this.streamEnded(vb, flags),
    flush: (_vb, barrier) => this.flushed(barrier),
    setVBucketState: (vb, state) => this.takeoverState(vb, state),
    closed: (reason) => this.disconnected(reason),
  };

  constructor(
    private readonly engine: Engine,
    private readonly options: ReplicatorOptions,
  ) {}

  get source(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  start(): void {
    void this.connect();
    // Acknowledgements held back while the disk was behind go out once it has caught up.
    this.ackTimer = setInterval(() => this.consumer?.releaseAcks(), ACK_CHECK_MS);
    this.ackTimer.unref();
  }

  private diskKeepsUp(): boolean {
    const commits = this.engine.commits;
    return this.engine.writable && commits.unpersistedBytes < APPLY_BACKLOG_BYTES;
  }

  stop(): void {
    this.stopped = true;
    this.state = 'stopped';
    if (this.ackTimer) clearInterval(this.ackTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.consumer?.close();
    this.consumer = null;
  }

  private link(vbid: number): VbLink {
    let l = this.vbs.get(vbid);
    if (l === undefined) {
      l = { streaming: false, streamedFrom: 0, lastReceivedSeqno: 0, lastItemAt: 0, activeSnapEnd: 0, behindSince: 0, rollbacks: 0, resyncs: 0, conflict: false };
      this.vbs.set(vbid, l);
    }
    return l;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.state = 'connecting';
    let consumer: DcpConsumer;
    try {
      consumer = await DcpConsumer.connect(this.options.host, this.options.port, this.events, { name: this.options.name, bufferSize: BUFFER_BYTES, noopSeconds: NOOP_SECONDS, flush: true, views: true, mayAcknowledge: () => this.diskKeepsUp(), auth: this.options.auth, tls: this.options.tls });
    } catch (err) {
      return this.retry(`cannot connect to ${this.source}: ${message(err)}`);
    }
    if (this.stopped) return consumer.close();
    this.consumer = consumer;
    this.state = 'connected';
    log.info(`replication: connected to ${this.source}`);
    try {
      for (const vb of this.engine.replicas.list()) await this.openStream(consumer, vb);
      this.backoff = RECONNECT_FIRST_MS;
      log.info(`replication: streaming ${[...this.vbs.values()].filter((l) => l.streaming).length} vBuckets from ${this.source}`);
    } catch (err) {
      consumer.close();
      this.consumer = null;
      this.retry(`streams from ${this.source} failed: ${message(err)}`);
    }
  }

  private retry(why: string): void {
    if (this.stopped) return;
    this.state = 'disconnected';
    for (const l of this.vbs.values()) l.streaming = false;
    log.warn(`replication: ${why}; reconnecting in ${this.backoff} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.reconnects++;
      void this.connect();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
  }

  private disconnected(reason: Error): void {
    if (this.consumer === null) return;
    this.consumer = null;
    for (const [vbid, t] of this.takeovers) t.reject(new Error(`vb ${vbid}: connection lost during the takeover`));
    this.takeovers.clear();
    this.retry(`connection to ${this.source} lost (${reason.message})`);
  }

  /** A vBucket that just became a replica here (after a takeover handed it to the source):
   * stream it now if connected (otherwise the next connection does). */
  follow(vbid: number): void {
    const vb = this.engine.vbuckets.get(vbid);
    if (this.consumer === null || vb === undefined || vb.state !== VBucketState.Replica) return;
    this.openStream(this.consumer, vb).catch((err: unknown) => log.warn(`replication: vb ${vbid}: ${message(err)}`));
  }

  /** A planned switchover (kv_engine's takeover stream): the active streams the rest, goes
   * dead, and hands the vBucket over; every write it acknowledged is here first. Resolves once
   * the vBucket is active here. */
  async takeover(vbid: number): Promise<void> {
    const consumer = this.consumer;
    const vb = this.engine.vbuckets.get(vbid);
    if (consumer === null) throw new Error(`not connected to ${this.source}`);
    if (vb === undefined || vb.state !== VBucketState.Replica) throw new Error(`vb ${vbid} is not a replica here`);
    if (this.takeovers.has(vbid)) throw new Error(`vb ${vbid}: a takeover is already under way`);
    const done = new Promise<void>((resolve, reject) => this.takeovers.set(vbid, { resolve, reject }));
    const link = this.link(vbid);
    if (link.streaming) {
      link.streaming = false;
      await consumer.closeStream(vbid).catch(() => undefined);
    }
    log.info(`replication: taking vb ${vbid} over from ${this.source}`);
    try {
      await this.openStream(consumer, vb, STREAM_FLAG.TAKEOVER);
    } catch (err) {
      this.takeovers.delete(vbid);
      throw err;
    }
    return done;
  }

  /** DCP_SET_VBUCKET_STATE of a takeover stream: pending while the active sends the rest,
   * then active (a new failover entry, persisted before the answer). */
  private async takeoverState(vbid: number, state: number): Promise<void> {
    const t = this.takeovers.get(vbid);
    if (state !== VBucketState.Pending && state !== VBucketState.Active) throw new Error(`takeover to state ${state}`);
    try {
      await this.engine.vbuckets.setState(vbid, state);
    } catch (err) {
      this.takeovers.delete(vbid);
      t?.reject(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
    if (state === VBucketState.Active) {
      this.takeovers.delete(vbid);
      this.link(vbid).streaming = false;
      log.info(`replication: vb ${vbid} taken over from ${this.source}; active here`);
      t?.resolve();
    }
  }

  /** Requests the stream of one replica vBucket from where it stands. */
  private async openStream(consumer: DcpConsumer, vb: VBucket, flags = 0): Promise<void> {
    const l = this.link(vb.id);
    const from: VbPosition = this.engine.replicas.position(vb);
    try {
      l.streamedFrom = from.seqno;
      await consumer.stream(vb.id, from, undefined, flags);
      l.streaming = true;
      l.conflict = false;
    } catch (err) {
      if (err instanceof HistoryConflict) {
        l.conflict = true;
        log.error(`replication: vb ${vb.id}: ${err.message}; left alone (--replica-force lets it be wiped and copied again)`);
        return;
      }
      if (err instanceof DcpError && err.status === STATUS_CODE.NOT_MY_VBUCKET) {
        log.warn(`replication: vb ${vb.id} is not active or replica on ${this.source}; not streamed`);
        return;
      }
      throw err;
    }
  }

  /** The stream is accepted: the active's failover log becomes this vBucket's, written with
   * the items that follow (same transaction) and persisted at once for the case none follow. */
  private accepted(vbid: number, entries: Array<{ uuid: bigint; seqno: number }>): void {
    const vb = this.engine.vbuckets.get(vbid);
    if (vb === undefined || vb.state !== VBucketState.Replica || entries.length === 0) return;
    vb.failovers = new FailoverTable(entries);
    vb.failoversOnDisk = vb.failovers.copy();
    void this.engine.vbuckets.persistStates(undefined, [vb]).catch((err: unknown) => log.error(`replication: vb ${vbid}: cannot persist the adopted failover log: ${message(err)}`));
  }

  private snapshot(vbid: number, start: number, end: number): void {
    if (this.engine.replicas.snapshot(vbid, start, end) !== Outcome.Success) return this.refused(vbid);
    const l = this.link(vbid);
    l.activeSnapEnd = end;
    if (l.behindSince === 0) l.behindSince = Date.now();
  }

  private apply(vbid: number, state: ItemState, seqno: number, key: Buffer, value: Buffer | null, flags: number, expiry: number, cas: number, meta: ReceivedMeta): void {
    const it = this.item;
    it.vbid = vbid;
    it.state = state;
    it.seqno = seqno;
    it.cas = cas;
    it.flags = flags;
    it.expiry = expiry;
    it.datatype = meta.datatype;
    it.revSeqno = meta.revSeqno;
    it.key = key;
    it.value = value;
    if (this.engine.replicas.apply(it) !== Outcome.Success) return this.refused(vbid);
    const l = this.link(vbid);
    l.lastReceivedSeqno = seqno;
    l.lastItemAt = Date.now();
    if (seqno >= l.activeSnapEnd) l.behindSince = 0;
  }

  /** The vBucket no longer takes the stream (promoted, deleted): close it once. */
  private refused(vbid: number): void {
    const l = this.link(vbid);
    if (!l.streaming) return;
    l.streaming = false;
    log.info(`replication: vb ${vbid} no longer a replica here; closing its stream`);
    this.consumer?.closeStream(vbid).catch(() => undefined);
  }

  /** ROLLBACK from the active. To 0 with data of our own, first make sure the active shares
   * some history with us (a common failover entry): an active restarted on an empty or
   * foreign data directory must not wipe a good copy unless the operator said so. */
  private async rollback(vbid: number, to: number): Promise<VbPosition> {
    const vb = this.engine.vbuckets.get(vbid);
    if (vb === undefined || vb.state !== VBucketState.Replica) throw new Error(`vb ${vbid} is no longer a replica`);
    if (to === 0 && vb.highSeqno > 0 && !this.options.force && this.consumer !== null) {
      const theirs = await this.consumer.failoverLog(vbid);
      if (!theirs.some((e) => vb.failovers.contains(e.uuid))) throw new HistoryConflict(`the active's history (${theirs.length} failover entries) shares no entry with this copy (high seqno ${vb.highSeqno})`);
    }
    const r = await this.engine.replicas.rollback(vb, to);
    const l = this.link(vbid);
    l.rollbacks++;
    if (r.resync) l.resyncs++;
    l.streamedFrom = r.position.seqno;
    log.warn(`replication: vb ${vbid}: the active asked for a rollback to seqno ${to} (from ${vb.highSeqno}); ${r.resync ? 'items dropped, copying the vBucket again' : 'nothing newer was held, resuming there'}`);
    return r.position;
  }

  /** The active flushed (or had flushed before this stream began): so does this node. The
   * barrier is global, so one message per stream is one too many but harmless. */
  private flushed(barrier: number): void {
    if (barrier <= this.engine.flushes.barrier) return;
    this.flushes++;
    log.info(`replication: the active flushed (barrier CAS ${barrier}); flushed here too`);
    this.engine.replicas.flush(barrier);
  }

  private streamEnded(vbid: number, flags: number): void {
    const l = this.link(vbid);
    l.streaming = false;
    log.warn(`replication: the active ended the stream of vb ${vbid} (flags ${flags})`);
    const consumer = this.consumer;
    setTimeout(() => {
      const vb = this.engine.vbuckets.get(vbid);
      if (consumer === null || consumer !== this.consumer || vb === undefined || vb.state !== VBucketState.Replica) return;
      this.openStream(consumer, vb).catch((err: unknown) => log.warn(`replication: vb ${vbid}: ${message(err)}`));
    }, STREAM_RETRY_MS).unref();
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
