/**
 * GET, GETK, TOUCH, GAT, GATK and the quiet twins (memcached process_bin_get_or_touch), and
 * kv_engine's GET_REPLICA (a GET answered from a replica vBucket).
 * Hits always answer; quiet misses stay silent; TOUCH answers flags but no value.
 */
import { EXTRAS_LENGTH, u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { Outcome } from '../../engine/outcome.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';
import { WATCH } from '../watch-log.js';

export function handleGetOrTouch(h: HandlerContext, f: Frame, quiet: boolean): void {
  const op = f.opcode;
  const v = h.view;
  const touch = op === OP.TOUCH || op === OP.GAT || op === OP.GATQ || op === OP.GATK || op === OP.GATKQ;
  const withKey = op === OP.GETK || op === OP.GETKQ || op === OP.GATK || op === OP.GATKQ;
  const outcome = touch ? h.engine.touch(h.keyOf(f), u32Extra(f.buf, f.extrasOffset), v, h.result) : op === OP.GET_REPLICA ? h.engine.replicas.get(h.keyOf(f), v) : h.engine.get(h.keyOf(f), v);
  const watch = h.server.watch;
  if ((watch.flags & WATCH.fetchers) !== 0) watch.itemGet(f.buf.subarray(f.keyOffset, f.keyOffset + f.keyLength), outcome === Outcome.Success, v.valueLength);
  if (outcome === Outcome.NotFound) {
    if (quiet) return;
    if (withKey) {
      h.out.header(op, STATUS_CODE.KEY_ENOENT, f.opaque, 0, 0, f.keyLength, f.keyLength);
      h.out.bytes(f.buf, f.keyOffset, f.keyLength);
    } else {
      h.fail(f, STATUS_CODE.KEY_ENOENT);
    }
    return;
  }
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, OP.GET));
  if (touch) h.holdUntil(h.result.batch);
  const valueLength = op === OP.TOUCH ? 0 : v.valueLength;
  const keyLength = withKey ? f.keyLength : 0;
  const extras = EXTRAS_LENGTH.getResponse;
  const out = h.out;
  out.header(op, STATUS_CODE.SUCCESS, f.opaque, v.cas, extras, keyLength, extras + keyLength + valueLength);
  out.u32(v.flags);
  if (keyLength > 0) out.bytes(f.buf, f.keyOffset, keyLength);
  out.bytesFrom(v.value, v.valueData, v.valueOffset, valueLength, true);
}
