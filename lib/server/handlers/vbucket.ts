/**
 * vBucket administration and history: SET_VBUCKET, GET_VBUCKET, DEL_VBUCKET,
 * GET_ALL_VB_SEQNOS, OBSERVE_SEQNO, GET_FAILOVER_LOG and GET_CLUSTER_CONFIG, with kv_engine's
 * layouts.
 */
import { EXTRAS_LENGTH } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { Outcome } from '../../engine/outcome.js';
import { VBucketState, type VBucket } from '../../engine/vbucket.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';
import { clusterConfig } from '../cluster-config.js';

function reply(h: HandlerContext, opcode: number, opaque: number, body: Buffer): void {
  h.out.header(opcode, STATUS_CODE.SUCCESS, opaque, 0, 0, 0, body.length);
  h.out.bytes(body, 0, body.length);
}

function existing(h: HandlerContext, f: Frame): VBucket | null {
  const vb = h.engine.vbuckets.get(f.vbucket);
  if (vb === undefined) {
    h.fail(f, STATUS_CODE.NOT_MY_VBUCKET);
    return null;
  }
  return vb;
}

export function handleSetVBucket(h: HandlerContext, f: Frame): void {
  const state = (f.extrasLength === EXTRAS_LENGTH.setVBucket ? f.buf[f.extrasOffset] : f.buf.readUInt32BE(f.extrasOffset)) as VBucketState;
  const { opcode, opaque, vbucket } = f;
  h.runAsync(
    h.engine.vbuckets.setState(vbucket, state).then((outcome) => {
      if (outcome === Outcome.Success) h.out.simple(opcode, STATUS_CODE.SUCCESS, opaque, 0);
      else h.out.error(opcode, statusOf(outcome, OP.SET_VBUCKET), opaque);
      wakeStreams(h);
    }),
  );
}

/** Streams of a vBucket that stopped being active end with STATE_CHANGED on the next pump. */
function wakeStreams(h: HandlerContext): void {
  for (const p of h.server.producers) p.schedule();
}

export function handleGetVBucket(h: HandlerContext, f: Frame): void {
  const vb = existing(h, f);
  if (vb === null) return;
  h.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0, 0, 0, 4);
  h.out.u32(vb.state);
}

export function handleDelVBucket(h: HandlerContext, f: Frame): void {
  const sync = f.buf.toString('latin1', f.valueOffset, f.valueOffset + f.valueLength) === 'async=0';
  const { outcome, done } = h.engine.vbuckets.remove(f.vbucket);
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, OP.DEL_VBUCKET));
  wakeStreams(h);
  if (!sync) {
    h.out.simple(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0);
    return;
  }
  const { opcode, opaque } = f;
  h.runAsync(done.then(() => h.out.simple(opcode, STATUS_CODE.SUCCESS, opaque, 0)));
}

export function handleGetAllVbSeqnos(h: HandlerContext, f: Frame): void {
  const wanted = f.extrasLength === 4 ? f.buf.readUInt32BE(f.extrasOffset) : 0;
  const vbs = h.engine.vbuckets.all().filter((vb) => (wanted === 0 ? vb.state !== VBucketState.Dead : vb.state === wanted));
  const body = Buffer.allocUnsafe(vbs.length * 10);
  vbs.forEach((vb, i) => {
    body.writeUInt16BE(vb.id, i * 10);
    body.writeBigUInt64BE(BigInt(vb.highSeqno), i * 10 + 2);
  });
  reply(h, f.opcode, f.opaque, body);
}

/** OBSERVE_SEQNO: format 0 when the client's vbuuid is the newest; format 1 ("failed over")
 * when it is an older entry, adding that branch's last seqno; KEY_ENOENT when unknown. */
export function handleObserveSeqno(h: HandlerContext, f: Frame): void {
  const vb = existing(h, f);
  if (vb === null) return;
  if (vb.state === VBucketState.Dead) return h.fail(f, STATUS_CODE.NOT_MY_VBUCKET);
  const uuid = f.buf.readBigUInt64BE(f.valueOffset);
  const latest = vb.failovers.latest();
  if (uuid === latest.uuid) {
    const body = Buffer.allocUnsafe(27);
    body[0] = 0;
    body.writeUInt16BE(vb.id, 1);
    body.writeBigUInt64BE(uuid, 3);
    body.writeBigUInt64BE(BigInt(vb.persistedHighSeqno), 11);
    body.writeBigUInt64BE(BigInt(vb.highSeqno), 19);
    return reply(h, f.opcode, f.opaque, body);
  }
  const branchEnd = vb.failovers.lastSeqnoFor(uuid);
  if (branchEnd === undefined) return h.fail(f, STATUS_CODE.KEY_ENOENT);
  const body = Buffer.allocUnsafe(43);
  body[0] = 1;
  body.writeUInt16BE(vb.id, 1);
  body.writeBigUInt64BE(latest.uuid, 3);
  body.writeBigUInt64BE(BigInt(vb.persistedHighSeqno), 11);
  body.writeBigUInt64BE(BigInt(vb.highSeqno), 19);
  body.writeBigUInt64BE(uuid, 27);
  body.writeBigUInt64BE(BigInt(branchEnd), 35);
  reply(h, f.opcode, f.opaque, body);
}

/** The pair's vBucket map (cluster-config.ts), as JSON. */
export function handleGetClusterConfig(h: HandlerContext, f: Frame): void {
  reply(h, f.opcode, f.opaque, Buffer.from(clusterConfig(h.server)));
}

export function handleGetFailoverLog(h: HandlerContext, f: Frame): void {
  const vb = existing(h, f);
  if (vb === null) return;
  reply(h, f.opcode, f.opaque, vb.failovers.toWire());
}
