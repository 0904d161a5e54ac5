/**
 * DELETE and DELETEQ (memcached process_bin_delete).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';

export function handleDelete(h: HandlerContext, f: Frame, quiet: boolean): void {
  const r = h.result;
  const outcome = h.engine.delete(h.keyOf(f), f.cas, r);
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, OP.DELETE));
  h.holdUntil(r.batch);
  h.mutationOk(f, quiet, r);
}
