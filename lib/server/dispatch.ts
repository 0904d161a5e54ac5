/**
 * The dispatch table: 256 slots, opcode → handler (kv_engine's handler array). Quiet opcodes
 * never appear here: the connection calls the loud twin's handler with quiet = true.
 */
import type { Frame } from '../../protocol/framer.js';
import { OP, type OpcodeInfo } from '../../protocol/opcodes.js';
import { STATUS_CODE } from '../../protocol/status.js';
import type { HandlerContext } from './handler-context.js';
import { handleArith } from './handlers/arith.js';
import { handleConcat } from './handlers/concat.js';
import { handleDelete } from './handlers/delete.js';
import { handleFlush } from './handlers/flush.js';
import { handleGetOrTouch } from './handlers/get-or-touch.js';
import { handleNoop, handleQuit, handleVerbosity, handleVersion } from './handlers/misc.js';
import { handleSaslAuth, handleSaslListMechs, handleSaslStep } from './handlers/sasl.js';
import { handleStat } from './handlers/stat.js';
import { handleUpdate } from './handlers/update.js';
import { handleHello } from './handlers/hello.js';
import { handleDcpAddStream, handleDcpBufferAck, handleDcpCloseStream, handleDcpControl, handleDcpGetFailoverLog, handleDcpOpen, handleDcpStreamReq } from './handlers/dcp.js';
import { handleDelVBucket, handleGetAllVbSeqnos, handleGetClusterConfig, handleGetFailoverLog, handleGetVBucket, handleObserveSeqno, handleSetVBucket } from './handlers/vbucket.js';

export type Handler = (h: HandlerContext, frame: Frame, quiet: boolean) => void;

/** Runs a validated request: with -S, AUTH_ERROR until the connection authenticated (except
 * what memcached allows before), then its handler. */
export function runRequest(h: HandlerContext, f: Frame, info: OpcodeInfo): void {
  if (!h.auth.allows(f.opcode)) return h.fail(f, STATUS_CODE.AUTH_ERROR);
  HANDLERS[info.loud](h, f, info.quiet);
}

export const HANDLERS: Handler[] = (() => {
  const table: Handler[] = new Array<Handler>(256);
  const set = (ops: number[], h: Handler): void => ops.forEach((op) => (table[op] = h));
  set([OP.SET, OP.ADD, OP.REPLACE], handleUpdate);
  set([OP.GET, OP.GETK, OP.TOUCH, OP.GAT, OP.GATK, OP.GET_REPLICA], handleGetOrTouch);
  set([OP.APPEND, OP.PREPEND], handleConcat);
  set([OP.INCREMENT, OP.DECREMENT], handleArith);
  set([OP.DELETE], handleDelete);
  set([OP.FLUSH], handleFlush);
  set([OP.STAT], handleStat);
  set([OP.NOOP], handleNoop);
  set([OP.VERSION], handleVersion);
  set([OP.QUIT], handleQuit);
  set([OP.VERBOSITY], handleVerbosity);
  set([OP.SASL_LIST_MECHS], handleSaslListMechs);
  set([OP.SASL_AUTH], handleSaslAuth);
  set([OP.SASL_STEP], handleSaslStep);
  set([OP.HELLO], handleHello);
  set([OP.SET_VBUCKET], handleSetVBucket);
  set([OP.GET_VBUCKET], handleGetVBucket);
  set([OP.DEL_VBUCKET], handleDelVBucket);
  set([OP.GET_ALL_VB_SEQNOS], handleGetAllVbSeqnos);
  set([OP.OBSERVE_SEQNO], handleObserveSeqno);
  set([OP.GET_FAILOVER_LOG], handleGetFailoverLog);
  set([OP.GET_CLUSTER_CONFIG], handleGetClusterConfig);
  set([OP.DCP_OPEN], handleDcpOpen);
  set([OP.DCP_CONTROL], handleDcpControl);
  set([OP.DCP_STREAM_REQ], handleDcpStreamReq);
  set([OP.DCP_CLOSE_STREAM], handleDcpCloseStream);
  set([OP.DCP_GET_FAILOVER_LOG], handleDcpGetFailoverLog);
  set([OP.DCP_ADD_STREAM], handleDcpAddStream);
  set([OP.DCP_BUFFER_ACKNOWLEDGEMENT], handleDcpBufferAck);
  // A DCP_NOOP *request* from a client is not something a producer answers.
  set([OP.DCP_NOOP], (h, f) => h.fail(f, STATUS_CODE.EINVAL, 'DCP_NOOP is sent by the producer'));
  return table;
})();
