/**
 * The DCP producer of one connection: its streams, flow control (connection buffer size and
 * buffer acknowledgements) and NOOPs. A stream first backfills from LMDB's seqno index, then
 * follows writes in memory (including ones not yet persisted, as kv_engine does). A slow
 * consumer costs bounded memory: a stream's in-memory queue over its limit is dropped and the
 * stream falls back to backfilling from disk; output stops while the socket or the consumer's
 * buffer is full; the pump yields to the event loop between chunks so other clients are served.
 */
import { SNAPSHOT_FLAG, STREAM_END_FLAG, writeDeletion, writeFlush, writeMutation, writeSetVBucketState, writeSnapshotMarker, writeStreamEnd } from '../../protocol/dcp.js';
import type { DcpItemMeta, DcpMessageWriter } from '../../protocol/dcp.js';
import { HEADER_LENGTH } from '../../protocol/header.js';
import { OP } from '../../protocol/opcodes.js';
import type { Engine } from '../engine/engine.js';
import { ItemState, recordCas, recordRevSeqno, recordValueLength, recordValueOffset, recordDatatype, recordExpiry, recordFlags, recordSeqno, recordState } from '../store/record.js';
import { USER_KEY_OFFSET, putItemKeyString } from '../store/key-codec.js';
import { pendingRecord, VBucketState, type VBucket } from '../engine/vbucket.js';
import { log } from '../log.js';
import { Stream, endBackfillSnapshot, endDiskSnapshot } from './stream.js';
import { NoopKeepalive } from './noop-keepalive.js';
import { PumpSchedule } from './pump-schedule.js';
import { HeldSnapshotWatch, SNAPSHOT_COPY_BUDGET, SNAPSHOT_HOLD_MS, copyRest, fromRest } from './disk-snapshot.js';

/** What the producer needs from its connection. */
export interface ProducerSink {
  readonly out: DcpMessageWriter;
  /** True while the socket can take more output. */
  writable(): boolean;
  /** Moves encoded output to the socket. */
  push(): void;
  close(): void;
  /** A takeover stream handed `vbid` to this connection's consumer; it is dead here now. */
  takeoverDone(vbid: number): void;
}

/** Items per backfill read; bytes written before the pump yields to the event loop. */
const BACKFILL_CHUNK = 1000;
const PUMP_BUDGET_BYTES = 512 * 1024;

export class DcpProducer {
  readonly streams = new Map<number, Stream>();
  readonly stats = { itemsSent: 0, bytesSent: 0, cursorsDropped: 0 };
  private readonly pumps: PumpSchedule;
  bufferSize = 0;
  unacked = 0;
  expiryOpcode = false;
  /** DCP_CONTROL lmcached_flush: send DCP_FLUSH with the barrier at stream start and on each
   * FLUSH (what a replica needs to drop flushed items). */
  flushMessages = false;
  private readonly onFlush = (barrier: number): void => {
    for (const s of this.streams.values()) {
      s.pendingFlush = barrier;
      this.pumps.wake(s);
    }
  };
  private readonly noops: NoopKeepalive;
  private closed = false;
  private readonly held = new HeldSnapshotWatch(() => this.streams.values(), (s) => this.releaseSnapshot(s), () => (this.sink.push(), !this.canSend()));
  private readonly meta: DcpItemMeta = { seqno: 0, revSeqno: 1, cas: 0, flags: 0, expiry: 0, datatype: 0 }; // reused for every item sent
  private readonly ks = Buffer.allocUnsafe(256); // an in-memory write's item key, from its latin1 string

  constructor(
    readonly name: string,
    private readonly engine: Engine,
    private readonly sink: ProducerSink,
    batchMs: number, // least time between pumps under load (--dcp-batch-ms)
  ) {
    this.pumps = new PumpSchedule(() => this.pump(), () => this.streams.values(), batchMs);
    this.noops = new NoopKeepalive(name, sink);
  }

  /** DCP_CONTROL. Returns false for keys or values we do not accept. */
  control(key: string, value: string): boolean {
    switch (key) {
      case 'connection_buffer_size': {
        if (!/^\d+$/.test(value)) return false;
        this.bufferSize = Number(value);
        this.pumps.kick();
        return true;
      }
      case 'enable_noop':
        if (value !== 'true' && value !== 'false') return false;
        this.noops.enable(value === 'true');
        return true;
      case 'set_noop_interval':
        if (!/^\d+$/.test(value) || Number(value) === 0) return false;
        this.noops.setInterval(Number(value));
        return true;
      case 'enable_expiry_opcode':
        if (value !== 'true' && value !== 'false') return false;
        this.expiryOpcode = value === 'true';
        return true;
      case 'lmcached_flush':
        if (value !== 'true' && value !== 'false') return false;
        this.flushMessages = value === 'true';
        if (this.flushMessages) this.engine.flushes.listeners.add(this.onFlush);
        else this.engine.flushes.listeners.delete(this.onFlush);
        return true;
      default:
        return false;
    }
  }

  noopAnswered(): void {
    this.noops.answered();
  }

  /** DCP_BUFFER_ACKNOWLEDGEMENT. */
  ack(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes);
    this.pumps.kick();
  }

  addStream(vb: VBucket, opaque: number, start: number, end: number, takeover = false): void {
    const s = new Stream(vb, opaque, start, end, this);
    s.takeover = takeover;
    if (this.flushMessages) s.pendingFlush = this.engine.flushes.barrier;
    this.streams.set(vb.id, s);
    this.wake(s);
  }

  closeStream(vbid: number): boolean {
    const s = this.streams.get(vbid);
    if (s === undefined) return false;
    this.finish(s, null);
    return true;
  }

  /** The connection is gone. */
  close(): void {
    this.closed = true;
    this.engine.flushes.listeners.delete(this.onFlush);
    this.noops.stop();
    this.held.stop();
    for (const s of this.streams.values()) {
      s.vb.listeners.delete(s.listener);
      endDiskSnapshot(s);
    }
    this.streams.clear();
    this.pumps.close();
  }

  /** A vBucket's state may have changed: every stream is looked at on the next pump, and one
   * whose vBucket is no longer what it was ends (STATE_CHANGED). */
  schedule(): void {
    this.pumps.everyStream();
  }

  /** A stream has work (a write to follow, a backfill, a takeover step). */
  wake(s: Stream): void {
    this.pumps.wake(s);
  }

  /** Writes what flow control and the socket allow, round-robin over the ready streams. */
  pump(): void {
    if (this.closed) return;
    const ready = this.pumps.streamsToPump();
    let budget = PUMP_BUDGET_BYTES;
    let progress = true;
    while (progress && budget > 0) {
      progress = false;
      for (const s of ready) {
        if (!this.canSend()) break;
        const wrote = this.step(s);
        if (wrote > 0) {
          progress = true;
          budget -= wrote;
        }
        if (!this.hasWork(s)) ready.delete(s);
      }
    }
    this.sink.push();
    // More to do and allowed to: continue on a later turn so other connections get served;
    // stalled, a held disk snapshot is released on time all the same.
    if (!this.canSend()) this.held.arm();
    else if (ready.size > 0) this.pumps.kick();
  }

  /** The consumer answered a message of a takeover stream (a marker with ACK, a state). */
  answered(opcode: number, opaque: number, status: number): void {
    const s = [...this.streams.values()].find((x) => x.opaque === opaque);
    if (s === undefined || !s.takeover) return;
    if (status !== 0) {
      log.warn(`dcp ${this.name}: takeover of vb ${s.vb.id} refused by the consumer (status ${status})`);
      return this.finish(s, STREAM_END_FLAG.STATE_CHANGED);
    }
    if (opcode === OP.DCP_SNAPSHOT_MARKER) s.markerAcks = Math.max(0, s.markerAcks - 1);
    else if (opcode === OP.DCP_SET_VBUCKET_STATE && s.takeoverPhase === 'pendingSent') {
      // No write may be acknowledged here from now on: dead, then send what is left.
      s.takeoverPhase = 'settingDead';
      void this.engine.vbuckets.setState(s.vb.id, VBucketState.Dead).then(() => {
        s.takeoverPhase = 'dead';
        this.schedule();
      });
    } else if (opcode === OP.DCP_SET_VBUCKET_STATE && s.takeoverPhase === 'activeSent') {
      log.info(`dcp ${this.name}: vb ${s.vb.id} taken over`);
      this.finish(s, STREAM_END_FLAG.OK);
      this.sink.takeoverDone(s.vb.id);
    }
    this.wake(s);
  }

  /** Called when the socket drained. */
  resume(): void {
    this.pumps.kick();
  }

  private canSend(): boolean {
    return this.sink.writable() && (this.bufferSize === 0 || this.unacked < this.bufferSize);
  }

  private hasWork(s: Stream): boolean {
    if (s.phase === 'ended') return false;
    if (s.phase === 'backfill') return true;
    if (s.takeover && s.phase === 'live' && ((s.takeoverPhase === 'streaming' && s.queue.length === 0) || (s.takeoverPhase === 'dead' && s.markerAcks === 0))) return true;
    return s.pendingFlush > 0 || (s.phase === 'live' && s.queue.length > 0);
  }

  /** One unit of work for a stream; returns the bytes written. */
  private step(s: Stream): number {
    // A takeover stream outlives the state change it makes itself.
    if (s.vb.deleted || (s.vb.state !== s.state && s.takeoverPhase === 'streaming')) {
      this.finish(s, STREAM_END_FLAG.STATE_CHANGED);
      return HEADER_LENGTH;
    }
    if (s.pendingFlush > 0) {
      const barrier = s.pendingFlush;
      s.pendingFlush = 0;
      return this.sent(writeFlush(this.sink.out, s.vb.id, s.opaque, barrier));
    }
    if (s.phase === 'backfill') return this.backfill(s);
    if (s.phase === 'live' && s.queue.length > 0) return this.sendLive(s);
    if (s.takeover && s.phase === 'live') return this.takeoverStep(s);
    return 0;
  }

  /** A caught-up takeover stream: ask the consumer to go pending; once this side is dead and
   * everything is sent and every marker answered, tell it to go active. */
  private takeoverStep(s: Stream): number {
    if (s.snapshotEnd > s.lastSent) return 0;
    if (s.takeoverPhase === 'streaming') {
      s.takeoverPhase = 'pendingSent';
      return this.sent(writeSetVBucketState(this.sink.out, s.vb.id, s.opaque, VBucketState.Pending));
    }
    if (s.takeoverPhase === 'dead' && s.markerAcks === 0) {
      s.takeoverPhase = 'activeSent';
      return this.sent(writeSetVBucketState(this.sink.out, s.vb.id, s.opaque, VBucketState.Active));
    }
    return 0;
  }

  private backfill(s: Stream): number {
    let wrote = 0;
    const vb = s.vb;
    if (s.backfillEnd === 0) {
      // A new disk snapshot: what is committed now, up to the stream's end.
      const target = Math.min(vb.appliedHighSeqno, s.end);
      if (target <= s.lastSent) return this.switchToMemory(s);
      s.backfillEnd = target;
      // Opened in the same turn appliedHighSeqno was read: it sees exactly that commit.
      s.disk = this.engine.backfill.openSnapshot();
      s.diskOpenedAt = Date.now();
      wrote += this.marker(s, s.lastSent + 1, target, SNAPSHOT_FLAG.DISK | SNAPSHOT_FLAG.CHECKPOINT);
    }
    if (s.disk !== null && Date.now() - s.diskOpenedAt > SNAPSHOT_HOLD_MS && !this.releaseSnapshot(s)) return wrote + HEADER_LENGTH;
    const r = this.sendFromDisk(s, s.lastSent + 1, s.backfillEnd, BACKFILL_CHUNK);
    wrote += r.wrote;
    let reached = r.reached;
    if (r.count < BACKFILL_CHUNK && this.canSend()) reached = s.backfillEnd;
    s.lastSent = Math.max(s.lastSent, reached);
    if (s.lastSent >= s.backfillEnd) {
      s.backfillEnd = 0;
      endBackfillSnapshot(s);
      if (s.lastSent >= s.end) this.finish(s, STREAM_END_FLAG.OK);
    }
    return Math.max(wrote, 1);
  }

  /** Backfill has caught up with disk: send what is newer (committed meanwhile, then still
   * pending in memory) as one snapshot, and follow the vBucket's writes from then on. All in
   * one synchronous step, so no write falls between disk and memory. */
  private switchToMemory(s: Stream): number {
    const vb = s.vb;
    const persisted = vb.appliedHighSeqno;
    const high = Math.min(vb.highSeqno, s.end);
    let wrote = 0;
    if (high > s.lastSent) {
      wrote += this.marker(s, s.lastSent + 1, high, SNAPSHOT_FLAG.MEMORY | SNAPSHOT_FLAG.CHECKPOINT);
      if (persisted > s.lastSent) wrote += this.sendFromDisk(s, s.lastSent + 1, Math.min(persisted, high), Infinity).wrote;
      // Committed but not yet in LMDB (read in the resident table), then not yet committed.
      const after = Math.max(persisted, s.lastSent);
      for (const c of this.engine.backfill.unappliedRecords(vb, after, high)) wrote += this.item(s, this.ks, putItemKeyString(c.keyString, this.ks, 0), c.record, true);
      const backfill = this.engine.backfill;
      for (const w of vb.pending.between(after, high, (p) => backfill.keyStringOf(p))) {
        const rec = pendingRecord(w);
        if (rec !== null) wrote += this.item(s, this.ks, putItemKeyString(backfill.keyStringOf(w), this.ks, 0), rec, true);
      }
      s.lastSent = high;
      s.snapshotEnd = high;
    }
    if (s.lastSent >= s.end) {
      this.finish(s, STREAM_END_FLAG.OK);
      return wrote + HEADER_LENGTH;
    }
    s.phase = 'live';
    vb.listeners.add(s.listener);
    return Math.max(wrote, 1);
  }

  /** Releases a long-held disk snapshot (disk-snapshot.ts); false: the stream ended TOO_SLOW. */
  private releaseSnapshot(s: Stream): boolean {
    let budget = SNAPSHOT_COPY_BUDGET;
    for (const other of this.streams.values()) budget -= other.restBytes;
    if (copyRest(this.engine.backfill, s, budget)) return true;
    log.warn(`dcp ${this.name}: vb ${s.vb.id}: consumer too slow for its disk snapshot; ending the stream (TOO_SLOW)`);
    this.finish(s, STREAM_END_FLAG.TOO_SLOW);
    return false;
  }

  /** Sends the committed items whose seqnos lie in [from, to], at most `limit` of them (and
   * no more once flow control closes, when `limit` is finite). */
  private sendFromDisk(s: Stream, from: number, to: number, limit: number): { wrote: number; reached: number; count: number } {
    let wrote = 0;
    let reached = from - 1;
    let count = 0;
    for (const { seqno, itemKey, record } of s.rest !== null ? fromRest(s, from, to) : this.engine.backfill.committedBySeqno(s.vb.id, from, to, s.disk ?? undefined)) {
      reached = seqno;
      wrote += this.item(s, itemKey, itemKey.length, record, s.rest !== null);
      if (++count >= limit || (limit !== Infinity && !this.canSend())) break;
    }
    return { wrote, reached, count };
  }

  private sendLive(s: Stream): number {
    let wrote = 0;
    if (s.snapshotEnd <= s.lastSent) {
      const first = s.queue[0].seqno;
      const last = Math.min(s.queue[s.queue.length - 1].seqno, s.end);
      wrote += this.marker(s, first, last, SNAPSHOT_FLAG.MEMORY);
      s.snapshotEnd = last;
    }
    while (s.queue.length > 0 && this.canSend()) {
      const w = s.queue[0];
      if (w.seqno > s.snapshotEnd) break;
      s.queue.shift();
      // Sent (copied into the output) below, or skipped: this queue no longer holds it.
      w.streams--;
      if (w.seqno <= s.lastSent) continue;
      const rec = pendingRecord(w);
      if (rec !== null) wrote += this.item(s, this.ks, putItemKeyString(this.engine.backfill.keyStringOf(w), this.ks, 0), rec, true);
      s.lastSent = w.seqno;
    }
    if (s.snapshotEnd <= s.lastSent && s.lastSent >= s.end) this.finish(s, STREAM_END_FLAG.OK);
    return Math.max(wrote, 1);
  }

  private marker(s: Stream, start: number, end: number, flags: number): number {
    if (s.takeover) {
      flags |= SNAPSHOT_FLAG.ACK;
      s.markerAcks++;
    }
    return this.sent(writeSnapshotMarker(this.sink.out, s.vb.id, s.opaque, start, end, flags));
  }

  /** A mutation, deletion or expiration (record an LMDB view unless `stable`; key: itemKey's first itemKeyLength bytes). */
  private item(s: Stream, itemKey: Buffer, itemKeyLength: number, rec: Buffer, stable: boolean): number {
    if (this.engine.flushes.hides(rec)) return 0;
    const m = this.meta;
    m.seqno = recordSeqno(rec);
    m.cas = recordCas(rec);
    m.revSeqno = recordRevSeqno(rec);
    this.stats.itemsSent++;
    const state = recordState(rec);
    const keyLength = itemKeyLength - USER_KEY_OFFSET;
    if (state === ItemState.Live) {
      m.flags = recordFlags(rec);
      m.expiry = recordExpiry(rec);
      m.datatype = recordDatatype(rec);
      return this.sent(writeMutation(this.sink.out, s.vb.id, s.opaque, m, itemKey, USER_KEY_OFFSET, keyLength, rec, recordValueOffset(rec), recordValueLength(rec), stable));
    }
    const expiration = state === ItemState.Expired && this.expiryOpcode;
    return this.sent(writeDeletion(this.sink.out, s.vb.id, s.opaque, m, itemKey, USER_KEY_OFFSET, keyLength, expiration));
  }

  private sent(bytes: number): number {
    this.stats.bytesSent += bytes;
    if (this.bufferSize > 0) this.unacked += bytes;
    return bytes;
  }

  /** Ends a stream; with a flag, tells the consumer (DCP_STREAM_END). */
  private finish(s: Stream, flag: number | null): void {
    s.phase = 'ended';
    this.pumps.forget(s);
    endBackfillSnapshot(s);
    s.vb.listeners.delete(s.listener);
    this.streams.delete(s.vb.id);
    if (flag === null) return;
    this.sent(writeStreamEnd(this.sink.out, s.vb.id, s.opaque, flag));
  }
}
