/**
 * FLUSH and FLUSHQ, with an optional delay in the extras (memcached process_bin_flush).
 */
import { EXTRAS_LENGTH, u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';

export function handleFlush(h: HandlerContext, f: Frame, quiet: boolean): void {
  const r = h.result;
  const outcome = h.engine.flush(f.extrasLength === EXTRAS_LENGTH.flush ? u32Extra(f.buf, f.extrasOffset) : 0, r);
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, OP.FLUSH));
  h.holdUntil(r.batch);
  h.ok(f, quiet, 0);
}
