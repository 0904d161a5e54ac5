/**
 * DCP commands a consumer sends to this server as producer: DCP_OPEN, DCP_CONTROL,
 * DCP_STREAM_REQ (with kv_engine's rollback rules), DCP_CLOSE_STREAM, DCP_GET_FAILOVER_LOG and
 * DCP_BUFFER_ACKNOWLEDGEMENT. NOOP answers arrive as responses and are handled by the connection.
 */
import { DCP_OPEN_PRODUCER, END_SEQNO_INFINITE, STREAM_FLAG, decodeStreamRequest } from '../../../protocol/dcp.js';
import { VBucketState } from '../../engine/vbucket.js';
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { rollbackSeqno } from '../../dcp/rollback.js';
import type { HandlerContext } from '../handler-context.js';
import { handleGetFailoverLog } from './vbucket.js';
import { statusOf } from '../outcome-status.js';

const MAX_SEQNO = Number.MAX_SAFE_INTEGER;

function toSeqno(v: bigint): number {
  return v >= BigInt(MAX_SEQNO) ? MAX_SEQNO : Number(v);
}

export function handleDcpOpen(h: HandlerContext, f: Frame): void {
  const flags = f.buf.readUInt32BE(f.extrasOffset + 4);
  if ((flags & DCP_OPEN_PRODUCER) === 0) return h.fail(f, STATUS_CODE.NOT_SUPPORTED, 'lmcached only opens producers');
  if (h.producer !== null) return h.fail(f, STATUS_CODE.EINVAL, 'connection is already a DCP producer');
  h.openProducer(f.buf.toString('utf8', f.keyOffset, f.keyOffset + f.keyLength));
  h.ok(f, false, 0);
}

export function handleDcpControl(h: HandlerContext, f: Frame): void {
  const producer = h.producer;
  if (producer === null) return h.fail(f, STATUS_CODE.EINVAL, 'DCP_OPEN first');
  const key = f.buf.toString('utf8', f.keyOffset, f.keyOffset + f.keyLength);
  const value = f.buf.toString('utf8', f.valueOffset, f.valueOffset + f.valueLength);
  if (!producer.control(key, value)) return h.fail(f, STATUS_CODE.EINVAL, `unsupported control ${key}=${value}`);
  h.ok(f, false, 0);
}

export function handleDcpStreamReq(h: HandlerContext, f: Frame): void {
  const producer = h.producer;
  if (producer === null) return h.fail(f, STATUS_CODE.EINVAL, 'DCP_OPEN first');
  const vb = h.engine.vbuckets.streamable(f.vbucket);
  if (typeof vb === 'number') return h.fail(f, statusOf(vb, f.opcode));
  if (producer.streams.has(vb.id)) return h.fail(f, STATUS_CODE.KEY_EEXISTS, 'a stream for this vbucket exists');
  const r = decodeStreamRequest(f.buf, f.extrasOffset);
  const start = toSeqno(r.start);
  const end = r.end === END_SEQNO_INFINITE ? MAX_SEQNO : toSeqno(r.end);
  if (start > end) return h.fail(f, STATUS_CODE.ERANGE, 'start seqno above end seqno');
  const rollback = rollbackSeqno(vb.failovers, { start, snapStart: toSeqno(r.snapStart), snapEnd: toSeqno(r.snapEnd), vbuuid: r.vbuuid, highSeqno: vb.highSeqno, purgeSeqno: vb.purgeSeqno });
  if (rollback !== null) {
    h.out.header(f.opcode, STATUS_CODE.ROLLBACK, f.opaque, 0, 0, 0, 8);
    h.out.u64(BigInt(rollback));
    return;
  }
  const takeover = (r.flags & STREAM_FLAG.TAKEOVER) !== 0;
  if (takeover && (vb.state !== VBucketState.Active || end !== MAX_SEQNO)) return h.fail(f, STATUS_CODE.EINVAL, 'a takeover stream is of an active vBucket, to no end seqno');
  // Success carries the failover log, then the stream's messages follow with its opaque.
  handleGetFailoverLog(h, f);
  producer.addStream(vb, f.opaque, start, end, takeover);
}

export function handleDcpCloseStream(h: HandlerContext, f: Frame): void {
  const producer = h.producer;
  if (producer === null || !producer.closeStream(f.vbucket)) return h.fail(f, STATUS_CODE.KEY_ENOENT);
  h.ok(f, false, 0);
}

export function handleDcpGetFailoverLog(h: HandlerContext, f: Frame): void {
  handleGetFailoverLog(h, f);
}

/** DCP_ADD_STREAM with the TAKEOVER flag, sent to a replica node (as ns_server does): take the
 * vBucket over from the active this node follows. Answered once it is active here. */
export function handleDcpAddStream(h: HandlerContext, f: Frame): void {
  const flags = f.buf.readUInt32BE(f.extrasOffset);
  if ((flags & STREAM_FLAG.TAKEOVER) === 0) return h.fail(f, STATUS_CODE.NOT_SUPPORTED, 'lmcached adds only takeover streams');
  const replicator = h.server.replicator;
  if (replicator === null) return h.fail(f, STATUS_CODE.NOT_SUPPORTED, 'this node follows no active (--replica-of)');
  const vb = h.engine.vbuckets.get(f.vbucket);
  if (vb === undefined || vb.state !== VBucketState.Replica) return h.fail(f, STATUS_CODE.NOT_MY_VBUCKET, 'not a replica vBucket here');
  const { opcode, opaque } = f;
  h.runAsync(
    replicator.takeover(vb.id).then(
      () => h.out.simple(opcode, STATUS_CODE.SUCCESS, opaque, 0),
      (err: unknown) => h.out.error(opcode, STATUS_CODE.ETMPFAIL, opaque, err instanceof Error ? err.message : String(err)),
    ),
  );
}

/** No reply: the consumer acknowledges bytes it has processed, re-opening its window. */
export function handleDcpBufferAck(h: HandlerContext, f: Frame): void {
  h.producer?.ack(f.buf.readUInt32BE(f.extrasOffset));
}
