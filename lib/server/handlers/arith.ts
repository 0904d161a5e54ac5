/**
 * INCREMENT, DECREMENT and their quiet twins (memcached complete_incr_bin): the reply body is
 * the new value as a u64.
 */
import { ARITH_NO_CREATE, arithDelta, arithExpiry, arithInitial } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';

export function handleArith(h: HandlerContext, f: Frame, quiet: boolean): void {
  const incr = f.opcode === OP.INCREMENT || f.opcode === OP.INCREMENTQ;
  const exptime = arithExpiry(f.buf, f.extrasOffset);
  const r = h.result;
  const args = { incr, key: h.keyOf(f), delta: arithDelta(f.buf, f.extrasOffset), initial: arithInitial(f.buf, f.extrasOffset), exptime, create: exptime !== ARITH_NO_CREATE, cas: f.cas };
  const outcome = h.engine.arith(args, r);
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, incr ? OP.INCREMENT : OP.DECREMENT));
  h.holdUntil(r.batch);
  h.mutationOk(f, quiet, r, r.counter);
}
