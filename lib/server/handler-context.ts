/**
 * What a command handler may do, and nothing more: reach the engine and the shared server
 * state, encode replies, fail, hold replies for a commit, run an asynchronous command, close
 * after the reply. Connection implements it; handlers and the text session depend on this
 * interface only, never on Connection, so the server's modules import each other in one
 * direction (connection → dispatch → handlers → this file).
 */
import type { Frame } from '../../protocol/framer.js';
import type { ResponseWriter } from '../../protocol/response-writer.js';
import type { DcpProducer } from '../dcp/producer.js';
import type { Engine } from '../engine/engine.js';
import type { ItemView, KeyRef, MutationResult } from '../engine/requests.js';
import type { ServerContext } from './context.js';
import type { ConnectionAuth } from './sasl.js';

/** Features a connection enabled with HELLO. */
export interface ConnectionFeatures {
  mutationSeqno: boolean;
  xerror: boolean;
  tcpNoDelay: boolean;
}

export interface HandlerContext {
  readonly engine: Engine;
  readonly server: ServerContext;
  /** Where replies are encoded; written to the socket at the end of the input batch. */
  readonly out: ResponseWriter;
  /** Reused per connection: what a read found, what a mutation did. */
  readonly view: ItemView;
  readonly result: MutationResult;
  readonly features: ConnectionFeatures;
  /** Whether this connection authenticated (-S). */
  readonly auth: ConnectionAuth;
  /** A reused KeyRef pointing at the frame's key. */
  keyOf(f: Frame): KeyRef;
  /** Success without a body; quiet commands stay silent. */
  ok(f: Frame, quiet: boolean, cas: number): void;
  /** A successful mutation (with MUTATION_SEQNO its vbuuid and seqno as extras); `counter` is
   * INCREMENT/DECREMENT's value. Quiet ones stay silent. */
  mutationOk(f: Frame, quiet: boolean, result: MutationResult, counter?: bigint): void;
  /** An error, always answered, quiet or not; with XERROR the context goes back as JSON. */
  fail(f: Frame, status: number, context?: string): void;
  /** In --ack=persist mode, everything answered from here on waits for `batch` to commit. */
  holdUntil(batch: number): void;
  /** Nothing after this command is processed until `work` has written its reply. */
  runAsync(work: Promise<void>): void;
  /** Writes what is queued; resolves true once the socket can take more, false when the
   * connection is going. For replies streamed over many turns (inside runAsync). */
  drainOutput(): Promise<boolean>;
  /** memcached's `watch`: the connection only receives log lines of `flags` from now on;
   * false when the watcher limit is reached. */
  startWatch(flags: number): boolean;
  /** Answer what is queued, then close. */
  closeAfterWrite(): void;
  setNoDelay(on: boolean): void;
  /** Set by DCP_OPEN: this connection then streams changes to its client. */
  readonly producer: DcpProducer | null;
  openProducer(name: string): DcpProducer;
}

/** What a text session (and its meta commands) needs of its connection. */
export type TextHost = Pick<HandlerContext, 'engine' | 'server' | 'out' | 'view' | 'result' | 'holdUntil' | 'closeAfterWrite' | 'runAsync' | 'drainOutput' | 'startWatch'>;
