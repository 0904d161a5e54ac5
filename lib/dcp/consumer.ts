/**
 * A DCP consumer: follows one or more vBuckets of a producer, keeps (vbuuid, seqno, snapshot)
 * per vBucket, acknowledges bytes for flow control, answers NOOPs, and on a ROLLBACK answer
 * asks its owner to roll back and then resumes from the seqno the producer named.
 */
import type net from 'node:net';
import {
  DCP_OPEN_PRODUCER,
  END_SEQNO_INFINITE,
  decodeItemMeta,
  SNAPSHOT_FLAG,
  decodeSnapshotMarker,
  encodeDcpResponse,
  encodeNoopResponse,
  encodeOpenExtras,
  encodeStreamRequest,
} from '../../protocol/dcp.js';
import { Framer, PEER_LIMITS, responseStatus, type Frame } from '../../protocol/framer.js';
import { MAGIC_RESPONSE } from '../../protocol/header.js';
import { OP } from '../../protocol/opcodes.js';
import { encodeRequest, u32Extras } from '../../protocol/request-encoder.js';
import { STATUS_CODE, statusName } from '../../protocol/status.js';
import { ScramClient } from '../client/scram-client.js';
import { connectTo, type ClientTls } from '../tls/client-tls.js';

export interface VbPosition {
  vbuuid: bigint;
  seqno: number;
  snapStart: number;
  snapEnd: number;
}

/** Metadata of a mutation, deletion or expiration beyond its seqno and CAS. */
export interface ReceivedMeta {
  revSeqno: number;
  datatype: number;
}

export interface ConsumerEvents {
  mutation?(vb: number, seqno: number, key: Buffer, value: Buffer, flags: number, expiry: number, cas: number, meta: ReceivedMeta): void;
  deletion?(vb: number, seqno: number, key: Buffer, cas: number, meta: ReceivedMeta): void;
  expiration?(vb: number, seqno: number, key: Buffer, cas: number, meta: ReceivedMeta): void;
  snapshot?(vb: number, start: number, end: number, flags: number): void;
  /** The producer abandoned history above `seqno`: forget everything after it. May return the
   * position to stream from instead (a full resync returns seqno 0). */
  rollback?(vb: number, seqno: number): void | VbPosition | Promise<void | VbPosition>;
  streamEnd?(vb: number, flags: number): void;
  /** DCP_SET_VBUCKET_STATE of a takeover stream; answered once this settles (a rejection
   * answers an error). */
  setVBucketState?(vb: number, state: number): void | Promise<void>;
  /** DCP_FLUSH (with `flush` in the options): items with a CAS at or below `barrierCas` are gone. */
  flush?(vb: number, barrierCas: number): void;
  /** The producer accepted a stream; called before any of its messages is delivered, with the
   * producer's failover log (newest first). */
  accepted?(vb: number, failoverLog: Array<{ uuid: bigint; seqno: number }>): void;
  /** The connection is gone (not called by `close()`). */
  closed?(reason: Error): void;
}

/** A failover log as the wire carries it, newest entry first. */
export function decodeFailoverLog(body: Buffer): Array<{ uuid: bigint; seqno: number }> {
  const out: Array<{ uuid: bigint; seqno: number }> = [];
  for (let at = 0; at + 16 <= body.length; at += 16) out.push({ uuid: body.readBigUInt64BE(at), seqno: Number(body.readBigUInt64BE(at + 8)) });
  return out;
}

export interface ConsumerOptions {
  name: string;
  /** connection_buffer_size; 0 disables flow control. */
  bufferSize?: number;
  /** NOOP interval in seconds; 0 disables NOOPs. */
  noopSeconds?: number;
  /** Ask an lmcached producer for DCP_FLUSH messages (lmcached_flush). */
  flush?: boolean;
  /** Credentials for a producer started with -S (SCRAM-SHA-512: no password on the wire). */
  auth?: { user: string; password: string };
  /** Connect over TLS (a producer started with -Z). */
  tls?: ClientTls | null;
  /** Flow control waits while this says no (a replica whose disk is behind): processed bytes
   * are acknowledged only once it says yes again (see `releaseAcks`). */
  mayAcknowledge?: () => boolean;
  /** Keys and values passed to mutation, deletion and expiration are views of the received
   * bytes, valid only during the call (a replica copies them into records of its own), not
   * copies. */
  views?: boolean;
}

interface Reply {
  status: number;
  value: Buffer;
}

export class DcpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class DcpConsumer {
  readonly positions = new Map<number, VbPosition>();
  private readonly framer: Framer;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private opaque = 1;
  private unackedBytes = 0;
  private closedReason: Error | null = null;
  private closedByUs = false;
  /** Stream requests awaiting their answer: opaque → vBucket. */
  private readonly streamRequests = new Map<number, number>();
  /** Reused for every item received. */
  private readonly meta: ReceivedMeta = { revSeqno: 0, datatype: 0 };

  private constructor(
    private readonly socket: net.Socket,
    private readonly events: ConsumerEvents,
    private readonly bufferSize: number,
    private readonly mayAcknowledge: () => boolean,
    private readonly views: boolean,
  ) {
    this.framer = new Framer(
      {
        frame: (f) => (this.onFrame(f), true),
        oversized: () => false,
        fault: (reason) => socket.destroy(new Error(`DCP stream not decodable: ${reason}`)),
      },
      PEER_LIMITS,
    );
    socket.on('data', (d: Buffer) => this.framer.push(d));
    socket.on('error', (err) => (this.closedReason = err));
    socket.on('close', () => {
      this.closedReason ??= new Error('connection closed');
      for (const w of this.waiting.values()) w({ status: -1, value: Buffer.alloc(0) });
      this.waiting.clear();
      if (!this.closedByUs) this.events.closed?.(this.closedReason);
    });
  }

  /** Connects, opens a producer connection and applies the controls. */
  static async connect(host: string, port: number, events: ConsumerEvents, options: ConsumerOptions): Promise<DcpConsumer> {
    const socket = await connectTo(host, port, options.tls ?? null);
    socket.setNoDelay(true);
    const c = new DcpConsumer(socket, events, options.bufferSize ?? 0, options.mayAcknowledge ?? (() => true), options.views === true);
    if (options.auth !== undefined) await c.authenticate(options.auth.user, options.auth.password).catch((err: unknown) => (c.close(), Promise.reject(err)));
    await c.expect(OP.DCP_OPEN, { key: options.name, extras: encodeOpenExtras(DCP_OPEN_PRODUCER) });
    await c.expect(OP.DCP_CONTROL, { key: 'enable_expiry_opcode', value: 'true' });
    if (c.bufferSize > 0) await c.expect(OP.DCP_CONTROL, { key: 'connection_buffer_size', value: String(c.bufferSize) });
    if (options.flush === true) await c.expect(OP.DCP_CONTROL, { key: 'lmcached_flush', value: 'true' });
    if ((options.noopSeconds ?? 0) > 0) {
      await c.expect(OP.DCP_CONTROL, { key: 'set_noop_interval', value: String(options.noopSeconds) });
      await c.expect(OP.DCP_CONTROL, { key: 'enable_noop', value: 'true' });
    }
    return c;
  }

  /** Starts streaming `vb` from `from` (default: everything), rolling back as told. Resolves
   * with the producer's failover log once it accepted the stream. */
  async stream(vb: number, from?: VbPosition, end: bigint = END_SEQNO_INFINITE, flags = 0): Promise<Array<{ uuid: bigint; seqno: number }>> {
    let pos: VbPosition = from ?? { vbuuid: 0n, seqno: 0, snapStart: 0, snapEnd: 0 };
    for (let attempt = 0; attempt < 10; attempt++) {
      this.positions.set(vb, pos);
      const extras = encodeStreamRequest({ flags, start: BigInt(pos.seqno), end, vbuuid: pos.vbuuid, snapStart: BigInt(pos.snapStart), snapEnd: BigInt(pos.snapEnd) });
      const r = await this.request(OP.DCP_STREAM_REQ, { extras, vbucket: vb }, vb);
      if (r.status === STATUS_CODE.SUCCESS) {
        if (r.value.length >= 16) pos.vbuuid = r.value.readBigUInt64BE(0);
        return decodeFailoverLog(r.value);
      }
      if (r.status !== STATUS_CODE.ROLLBACK) throw new DcpError(`stream request vb ${vb}: ${this.outcome(r.status)}`, r.status);
      const to = Number(r.value.readBigUInt64BE(0));
      const chosen = await this.events.rollback?.(vb, to);
      pos = chosen ?? { vbuuid: to === 0 ? 0n : pos.vbuuid, seqno: to, snapStart: to, snapEnd: to };
    }
    throw new Error(`stream request vb ${vb}: too many rollbacks`);
  }

  /** The producer's failover log of `vb` (DCP_GET_FAILOVER_LOG). */
  async failoverLog(vb: number): Promise<Array<{ uuid: bigint; seqno: number }>> {
    return decodeFailoverLog((await this.expect(OP.DCP_GET_FAILOVER_LOG, { vbucket: vb })).value);
  }

  /** The vBuckets the producer holds in `state` (1: active), from GET_ALL_VB_SEQNOS. */
  async vbuckets(state = 1): Promise<number[]> {
    const { value } = await this.expect(OP.GET_ALL_VB_SEQNOS, { extras: u32Extras(state) });
    return Array.from({ length: Math.floor(value.length / 10) }, (_, i) => value.readUInt16BE(i * 10));
  }

  async closeStream(vb: number): Promise<void> {
    await this.expect(OP.DCP_CLOSE_STREAM, { vbucket: vb });
  }

  close(): void {
    this.closedByUs = true;
    this.socket.destroy();
  }

  /** SCRAM-SHA-512, kv_engine's way: SASL_AUTH answered AUTH_CONTINUE, then SASL_STEP. */
  private async authenticate(user: string, password: string): Promise<void> {
    const mechanism = 'SCRAM-SHA-512';
    const scram = new ScramClient('sha512', user, password);
    const first = await this.request(OP.SASL_AUTH, { key: mechanism, value: scram.first() });
    if (first.status !== STATUS_CODE.AUTH_CONTINUE) throw new DcpError(`authentication as ${user}: ${this.outcome(first.status)}`, first.status);
    const last = await this.expect(OP.SASL_STEP, { key: mechanism, value: scram.final(first.value.toString('utf8')) });
    if (!scram.verify(last.value.toString('utf8'))) throw new DcpError(`authentication as ${user}: the server did not prove it knows the user`, STATUS_CODE.AUTH_ERROR);
  }

  /** A reply's status by name, or why the connection closed before it came (a TLS alert). */
  private outcome(status: number): string {
    if (status >= 0) return statusName(status);
    const reason = (this.closedReason?.message ?? '').replace(/\s+/g, ' ').trim();
    return reason === '' || reason === 'connection closed' ? 'connection closed' : `connection closed (${reason})`;
  }

  private async expect(opcode: number, fields: { key?: string; value?: string; extras?: Buffer; vbucket?: number }): Promise<Reply> {
    const r = await this.request(opcode, fields);
    if (r.status !== STATUS_CODE.SUCCESS) throw new DcpError(`opcode 0x${opcode.toString(16)}: ${this.outcome(r.status)}`, r.status);
    return r;
  }

  private request(opcode: number, fields: { key?: string; value?: string; extras?: Buffer; vbucket?: number }, streamVb = -1): Promise<Reply> {
    if (this.closedReason) return Promise.reject(this.closedReason);
    const opaque = this.opaque++;
    if (streamVb >= 0) this.streamRequests.set(opaque, streamVb);
    return new Promise((resolve) => {
      this.waiting.set(opaque, resolve);
      this.socket.write(encodeRequest({ opcode, opaque, ...fields }));
    });
  }

  private onFrame(f: Frame): void {
    if (f.magic === MAGIC_RESPONSE) {
      const w = this.waiting.get(f.opaque);
      this.waiting.delete(f.opaque);
      const value = Buffer.from(f.buf.subarray(f.valueOffset, f.valueOffset + f.valueLength));
      const streamVb = this.streamRequests.get(f.opaque);
      this.streamRequests.delete(f.opaque);
      // Synchronously: the stream's first messages may follow in this very chunk.
      if (streamVb !== undefined && responseStatus(f) === STATUS_CODE.SUCCESS) this.events.accepted?.(streamVb, decodeFailoverLog(value));
      w?.({ status: responseStatus(f), value });
      return;
    }
    const vb = f.vbucket;
    const extras = f.buf.subarray(f.extrasOffset, f.extrasOffset + f.extrasLength);
    const pos = this.positions.get(vb);
    switch (f.opcode) {
      case OP.DCP_NOOP:
        this.socket.write(encodeNoopResponse(f.opaque));
        return;
      case OP.DCP_SNAPSHOT_MARKER: {
        const m = decodeSnapshotMarker(extras);
        if (pos) {
          pos.snapStart = m.start;
          pos.snapEnd = m.end;
        }
        this.events.snapshot?.(vb, m.start, m.end, m.flags);
        if ((m.flags & SNAPSHOT_FLAG.ACK) !== 0) this.socket.write(encodeDcpResponse(OP.DCP_SNAPSHOT_MARKER, f.opaque));
        break;
      }
      case OP.DCP_SET_VBUCKET_STATE: {
        const opaque = f.opaque;
        const state = f.buf[f.extrasOffset];
        Promise.resolve(this.events.setVBucketState?.(vb, state)).then(
          () => this.socket.write(encodeDcpResponse(OP.DCP_SET_VBUCKET_STATE, opaque)),
          () => this.socket.write(encodeDcpResponse(OP.DCP_SET_VBUCKET_STATE, opaque, STATUS_CODE.EINVAL)),
        );
        break;
      }
      case OP.DCP_MUTATION: {
        const m = decodeItemMeta(extras, true);
        if (pos) pos.seqno = m.seqno;
        this.meta.revSeqno = m.revSeqno;
        this.meta.datatype = f.datatype;
        this.events.mutation?.(vb, m.seqno, this.bytes(f, f.keyOffset, f.keyLength), this.bytes(f, f.valueOffset, f.valueLength), m.flags, m.expiry, f.cas, this.meta);
        break;
      }
      case OP.DCP_DELETION:
      case OP.DCP_EXPIRATION: {
        const m = decodeItemMeta(extras, false);
        if (pos) pos.seqno = m.seqno;
        this.meta.revSeqno = m.revSeqno;
        this.meta.datatype = f.datatype;
        const key = this.bytes(f, f.keyOffset, f.keyLength);
        if (f.opcode === OP.DCP_DELETION) this.events.deletion?.(vb, m.seqno, key, f.cas, this.meta);
        else this.events.expiration?.(vb, m.seqno, key, f.cas, this.meta);
        break;
      }
      case OP.DCP_STREAM_END:
        this.events.streamEnd?.(vb, extras.readUInt32BE(0));
        break;
      case OP.DCP_FLUSH:
        this.events.flush?.(vb, f.cas);
        break;
      default:
        return;
    }
    this.acknowledge(24 + f.bodyLength);
  }

  /** A key or value of a received item: a view with `views`, else a copy of its own. */
  private bytes(f: Frame, offset: number, length: number): Buffer {
    const view = f.buf.subarray(offset, offset + length);
    return this.views ? view : Buffer.from(view);
  }

  /** Flow control: tell the producer what we processed once half the window is used. */
  private acknowledge(bytes: number): void {
    if (this.bufferSize === 0) return;
    this.unackedBytes += bytes;
    if (this.unackedBytes >= this.bufferSize / 2) this.releaseAcks();
  }

  /** Acknowledges what was processed, if `mayAcknowledge` allows; the owner calls this again
   * when it may have changed its mind. */
  releaseAcks(): void {
    if (this.unackedBytes === 0 || this.closedReason !== null || !this.mayAcknowledge()) return;
    this.socket.write(encodeRequest({ opcode: OP.DCP_BUFFER_ACKNOWLEDGEMENT, extras: u32Extras(this.unackedBytes) }));
    this.unackedBytes = 0;
  }
}
