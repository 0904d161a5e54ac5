/**
 * INCREMENT, DECREMENT and their quiet twins (memcached complete_incr_bin): the reply body is
 * the new value as a u64.
 */
import { ARITH_NO_CREATE, arithDelta, arithExpiry, arithInitial } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { Connection } from '../connection.js';
import { statusOf } from '../outcome-status.js';

export function handleArith(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  const incr = f.opcode === OP.INCREMENT || f.opcode === OP.INCREMENTQ;
  const expiry = arithExpiry(f.buf, f.extrasOffset);
  const outcome = engine.arith(incr, conn.keyOf(f), arithDelta(f.buf, f.extrasOffset), arithInitial(f.buf, f.extrasOffset), expiry, expiry !== ARITH_NO_CREATE, f.cas);
  if (outcome !== Outcome.Success) return conn.fail(f, statusOf(outcome, incr ? OP.INCREMENT : OP.DECREMENT));
  conn.holdUntil(engine.lastBatch);
  conn.mutationOk(f, quiet, engine.lastCas, engine.lastArith);
}
