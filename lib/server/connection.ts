/**
 * One client connection: framing, validation, dispatch, the single home of reply suppression,
 * output batching, backpressure, and replies held in order until their writes commit.
 */
import type { Socket } from 'node:net';
import { Framer, type Frame, type FramerFault } from '../../protocol/framer.js';
import { OP, OPCODES, opcodeName } from '../../protocol/opcodes.js';
import { ResponseWriter } from '../../protocol/response-writer.js';
import { STATUS_CODE } from '../../protocol/status.js';
import { checkRequest } from '../../protocol/validate.js';
import { MUTATION_SEQNO_EXTRAS_LENGTH } from '../../protocol/extras.js';
import type { Engine } from '../engine/engine.js';
import { newItemView, newMutationResult, type KeyRef, type MutationResult } from '../engine/requests.js';
import { log } from '../log.js';
import type { ServerContext } from './context.js';
import { runRequest } from './dispatch.js';
import { ConnectionAuth } from './sasl.js';
import { deferFlush, type Flushable } from './flush-queue.js';
import type { ConnectionFeatures, HandlerContext } from './handler-context.js';
import { DcpProducer } from '../dcp/producer.js';
import { TextSession } from './text-session.js';
import { MAGIC_REQUEST, MAGIC_RESPONSE } from '../../protocol/header.js';
import { clusterConfig } from './cluster-config.js';
import { HeldReplies } from './held-replies.js';
import { prefetchHooks } from './request-prefetch.js';
import { UnackedWrites } from './memory-ack.js';
import { answerOversized } from './oversized.js';

/** Stop framing when this much output is waiting (socket buffer or held replies). */
const OUTPUT_HIGH_WATER = 4 * 1024 * 1024;
/** Largest body accepted at all (memcached's ITEM_SIZE_MAX_UPPER_LIMIT is about 1 GiB). */
const HARD_BODY_CAP = 1024 * 1024 * 1024 + 65535 + 255;

export class Connection implements Flushable, HandlerContext {
  readonly framer: Framer;
  readonly out = new ResponseWriter();
  readonly engine: Engine;
  /** Reused key reference handed to the engine. */
  private readonly key: KeyRef = { vbid: 0, buf: Buffer.alloc(0), offset: 0, length: 0 };
  readonly view = newItemView();
  readonly result = newMutationResult();
  producer: DcpProducer | null = null;
  readonly features: ConnectionFeatures = { mutationSeqno: false, xerror: false, tcpNoDelay: true };
  readonly auth: ConnectionAuth;
  flushQueued = false;
  /** Set by every read; the idle sweep clears it and counts the sweeps that found it clear. */
  private active = false;
  private idleSweeps = 0;
  private readonly held = new HeldReplies();
  private readonly unacked = new UnackedWrites();
  private closing = false;
  /** The server is shutting down (quiesce): nothing more is read, whatever resumes output. */
  private quiesced = false;
  private endWhenFlushed = false;
  private waitingForDrain = false;
  private asyncPending = false;
  /** The client half-closed: close once what it sent is answered. */
  private peerEnded = false;
  /** Chosen by the first byte, as memcached does: 0x80 is binary, anything else text. */
  private text: TextSession | null = null;
  private protocolChosen = false;
  private readonly onCommit = (batch: number): void => this.commitReached(batch);

  constructor(
    private readonly socket: Socket,
    readonly server: ServerContext,
  ) {
    this.engine = server.engine;
    this.auth = new ConnectionAuth(server.sasl);
    this.framer = new Framer(
      {
        frame: (f) => this.dispatch(f),
        oversized: (f) => answerOversized(this, f),
        fault: (reason, f) => this.fault(reason, f),
        ...prefetchHooks(this.engine),
      },
      { maxValueLength: server.settings.maxItemSize, hardBodyCap: HARD_BODY_CAP },
    );
    socket.on('drain', () => {
      this.waitingForDrain = false;
      this.maybeResume();
      this.producer?.resume();
    });
    // The client sent all it will (half-close): answer what it sent, then close, as memcached
    // does. Sockets are half-open so that replies still queued or held for a commit
    // (--ack=persist) are written before our end.
    socket.on('end', () => {
      this.peerEnded = true;
      this.endIfDone();
    });
    socket.on('error', (err) => log.debug(`connection ${socket.remoteAddress}:${socket.remotePort}: ${err.message}`));
    socket.on('close', () => this.closed());
  }

  /** Points the reused KeyRef at the frame's key. */
  keyOf(f: Frame): KeyRef {
    const k = this.key;
    k.vbid = f.vbucket;
    k.buf = f.buf;
    k.offset = f.keyOffset;
    k.length = f.keyLength;
    return k;
  }

  // ---- replies: the one place that decides what a quiet command answers (HandlerContext) ----

  ok(f: Frame, quiet: boolean, cas: number): void {
    if (!quiet) this.out.simple(f.opcode, STATUS_CODE.SUCCESS, f.opaque, cas);
  }

  mutationOk(f: Frame, quiet: boolean, result: MutationResult, counter?: bigint): void {
    if (quiet) return;
    const extras = this.features.mutationSeqno ? MUTATION_SEQNO_EXTRAS_LENGTH : 0;
    const body = extras + (counter === undefined ? 0 : 8);
    this.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, result.cas, extras, 0, body);
    if (extras > 0) {
      this.out.u64(result.vbuuid);
      this.out.u53(result.seqno);
    }
    if (counter !== undefined) this.out.u64(counter);
  }

  /** Errors are always answered, quiet or not (memcached write_bin_error). With XERROR a
   * context string goes back as kv_engine's JSON error body; NOT_MY_VBUCKET carries the map. */
  fail(f: Frame, status: number, context?: string): void {
    if (context !== undefined && this.features.xerror) this.out.error(f.opcode, status, f.opaque, JSON.stringify({ error: { context } }));
    else this.out.error(f.opcode, status, f.opaque, status === STATUS_CODE.NOT_MY_VBUCKET ? clusterConfig(this.server) : undefined);
  }

  setNoDelay(on: boolean): void {
    this.socket.setNoDelay(on);
  }

  openProducer(name: string): DcpProducer {
    const conn = this;
    const producer = new DcpProducer(name, this.engine, {
      out: this.out,
      writable: () => !conn.closing && conn.socket.writableLength < OUTPUT_HIGH_WATER,
      push: () => conn.flushOutput(),
      close: () => conn.socket.destroy(),
      takeoverDone: (vbid) => conn.server.takeoverDone(vbid, name),
    }, this.server.settings.dcpBatchMs);
    this.producer = producer;
    this.server.producers.add(producer);
    return producer;
  }

  /** Runs an asynchronous command (vBucket state changes): nothing after it here runs until its
   * reply is written, so replies keep request order. */
  runAsync(work: Promise<void>): void {
    this.framer.pause();
    this.text?.framer.pause();
    this.asyncPending = true;
    work
      .catch((err: unknown) => log.error(`connection: async command failed: ${String(err)}`))
      .finally(() => {
        this.asyncPending = false;
        if (this.closing) return;
        this.flushOutput();
        this.maybeResume();
        this.endIfDone();
      });
  }

  /** HandlerContext.startWatch: input is ignored from here on. */
  startWatch(flags: number): boolean {
    this.flushOutput();
    if (!this.server.watch.add(this.socket, flags)) return false;
    this.framer.stop();
    this.text?.framer.stop();
    this.asyncPending = true; // never idle-swept, never half-close-ended: it only listens
    return true;
  }

  /** HandlerContext.drainOutput. */
  drainOutput(): Promise<boolean> {
    this.flushOutput();
    const open = (): boolean => !this.closing && !this.socket.destroyed;
    if (!open() || this.socket.writableLength < OUTPUT_HIGH_WATER) return Promise.resolve(open());
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve(open());
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Everything answered from here on waits for `batch` with --ack=persist. With --ack=memory
   * the replies wait only while commits lag, judged when they are written (flushOutput). */
  holdUntil(batch: number): void {
    if (batch <= this.engine.commits.committedBatch) return;
    if (this.server.settings.ack !== 'persist') return this.unacked.note(batch);
    if (this.held.lastBatch >= batch) return;
    this.moveOutputToHeld();
    this.openHold(batch);
  }

  /** Replies from here on wait for `batch`; `pressure`: --ack=memory's back pressure (counted). */
  private openHold(batch: number, pressure = false): void {
    if (pressure) this.server.counters.ack_memory_holds++;
    if (this.held.empty) this.engine.commits.onCommit(this.onCommit);
    this.held.open(batch);
  }

  /** Each second with -o idle_timeout: closes after `limit` sweeps with nothing read or
   * outstanding (memcached's idle kick); never a DCP producer's, whose stream may be busy. */
  sweepIdle(limit: number): void {
    if (this.active || this.producer !== null || !this.held.empty || this.asyncPending) {
      this.active = false;
      this.idleSweeps = 0;
      return;
    }
    if (++this.idleSweeps < limit || this.closing) return;
    log.debug(`connection idle for ${limit} s: closing`);
    this.closeAfterWrite();
    this.flushOutput();
  }

  /** After a half-close, once no request is left to run (none behind an asynchronous one or
   * backpressure), answer what is queued and close; an incomplete request never completes. */
  private endIfDone(): void {
    if (!this.peerEnded || this.closing || this.asyncPending) return;
    if (this.framer.isPaused && this.framer.pendingBytes > 0) return;
    this.closeAfterWrite();
    this.flushOutput();
  }

  /** Answer what is queued, then close (QUIT, protocol errors). */
  closeAfterWrite(): void {
    this.closing = true;
    this.endWhenFlushed = true;
    this.framer.stop();
    this.text?.framer.stop();
  }

  // ---- input ----

  /** The first `length` bytes of `chunk`, from the socket; a `transient` chunk is reused after. */
  receive(chunk: Buffer, length: number, transient: boolean): void {
    this.active = true;
    this.server.counters.bytes_read += length;
    try {
      if (!this.protocolChosen) {
        this.protocolChosen = true;
        if (chunk[0] !== MAGIC_REQUEST) this.text = new TextSession(this, `${this.socket.remoteAddress}:${this.socket.remotePort}`);
      }
      if (this.text !== null) this.text.framer.push(length === chunk.length ? chunk : chunk.subarray(0, length), transient); // not a hot path
      else this.framer.push(chunk, transient, length);
      deferFlush(this);
    } catch (err) {
      // A bug, not a client mistake: lose this connection, never the server.
      log.error(`connection: internal error, closing: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      this.closing = true;
      this.framer.stop();
      this.socket.destroy();
    }
  }

  private dispatch(f: Frame): boolean {
    if (f.magic === MAGIC_RESPONSE) {
      // Only a DCP consumer answering our NOOP sends responses; from anyone else it is the
      // wrong magic, and memcached closes the connection without a reply.
      if (this.producer !== null && f.opcode === OP.DCP_NOOP) {
        this.producer.noopAnswered();
        return true;
      }
      if (this.producer !== null && (f.opcode === OP.DCP_SNAPSHOT_MARKER || f.opcode === OP.DCP_SET_VBUCKET_STATE)) {
        this.producer.answered(f.opcode, f.opaque, f.vbucket);
        return true;
      }
      this.closeAfterWrite();
      return false;
    }
    const info = OPCODES[f.opcode];
    if (info === undefined) {
      this.fail(f, STATUS_CODE.UNKNOWN_COMMAND);
    } else {
      const problem = checkRequest(f, info);
      if (problem !== null) {
        this.fail(f, STATUS_CODE.EINVAL, problem);
        if (!info.closeOnInvalid) return true;
        // memcached answers a malformed command with EINVAL and closes the connection.
        log.debug(`protocol error (${info.name}): ${problem}; closing connection`);
        this.closeAfterWrite();
        return false;
      }
      runRequest(this, f, info);
    }
    return !this.closing && !this.asyncPending && this.out.pending < OUTPUT_HIGH_WATER;
  }

  private fault(reason: FramerFault, f: Frame): void {
    log.debug(`framing fault ${reason} (opcode ${opcodeName(f.opcode)}); closing connection`);
    if (reason === 'inconsistent-lengths') this.fail(f, STATUS_CODE.UNKNOWN_COMMAND);
    else if (reason === 'body-over-hard-cap') this.fail(f, STATUS_CODE.EINVAL);
    // Bad magic: memcached closes without a reply.
    this.closeAfterWrite();
  }

  private moveOutputToHeld(): void {
    const one = this.out.takeOne(); // the common case, one slab region: no list
    if (one !== null) {
      if (!this.held.addOne(one)) this.writeOne(one);
    } else {
      const pieces = this.out.take();
      if (pieces.length > 0 && !this.held.add(pieces)) this.writePieces(pieces);
    }
  }

  flushOutput(): void {
    if (this.socket.destroyed) return;
    const wait = this.unacked.mustWaitFor(this.engine.commits); // --ack=memory: commits lag?
    if (wait > this.held.lastBatch) this.openHold(wait, true);
    this.moveOutputToHeld();
    // No reply taken is queued (a Writable counts a write until its handle is done) or held.
    if (this.socket.writableLength === 0 && this.held.empty) this.out.reuse();
    this.afterOutput();
  }

  private afterOutput(): void {
    if (this.endWhenFlushed && this.held.empty) {
      this.socket.end();
      return;
    }
    if (this.closing) return;
    const backlog = this.socket.writableLength + this.held.bytes;
    if (backlog >= OUTPUT_HIGH_WATER) {
      this.framer.pause();
      this.socket.pause();
      this.waitingForDrain = this.socket.writableLength >= OUTPUT_HIGH_WATER;
    } else if (this.framer.pendingBytes > 0 && !this.asyncPending) {
      // The framer stopped mid-chunk because a batch of replies grew large: continue.
      this.framer.resume();
      if (this.out.pending > 0) this.flushOutput();
      this.endIfDone();
    }
  }

  /** Stops reading for good (shutdown): what was read is answered, but a reply that a commit
   * releases no longer resumes reading, or writers waiting on their replies would keep the
   * shutdown's last commit from ever coming (test/server/shutdown-under-load.test.ts). */
  quiesce(): void {
    this.quiesced = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (this.closing || this.waitingForDrain || this.asyncPending) return;
    if (this.socket.writableLength + this.held.bytes >= OUTPUT_HIGH_WATER) return;
    if (!this.quiesced) this.socket.resume();
    this.framer.resume();
    this.text?.framer.resume();
    this.flushOutput();
    this.endIfDone();
  }

  private writeOne(piece: Buffer): void {
    if (this.socket.destroyed) return;
    this.server.counters.bytes_written += piece.length;
    this.socket.write(piece);
  }

  private writePieces(pieces: Buffer[]): void {
    if (pieces.length === 1 || this.socket.destroyed) return this.writeOne(pieces[0]); // no cork bookkeeping
    this.socket.cork();
    for (const p of pieces) this.writeOne(p);
    this.socket.uncork();
  }

  /** Held replies go out once the commit holding their writes is done; a failing commit is
   * retried by the flusher, so they wait (no reply claims a write that is not on disk). */
  private commitReached(batch: number): void {
    this.held.release(batch, (pieces) => this.writePieces(pieces));
    if (this.held.empty) this.engine.commits.offCommit(this.onCommit);
    if (this.endWhenFlushed && this.held.empty) this.socket.end();
    else this.maybeResume();
  }

  private closed(): void {
    this.closing = true;
    if (this.producer !== null) {
      this.producer.close();
      this.server.producers.delete(this.producer);
    }
    this.framer.stop();
    this.engine.commits.offCommit(this.onCommit);
    this.server.counters.curr_connections--;
  }
}
