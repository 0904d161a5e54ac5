/**
 * APPEND, PREPEND and their quiet twins (memcached process_bin_append_prepend).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';
import { WATCH } from '../watch-log.js';

export function handleConcat(h: HandlerContext, f: Frame, quiet: boolean): void {
  const append = f.opcode === OP.APPEND || f.opcode === OP.APPENDQ;
  const r = h.result;
  const outcome = h.engine.concat({ append, key: h.keyOf(f), cas: f.cas, value: f.buf, valueOffset: f.valueOffset, valueLength: f.valueLength }, r);
  const watch = h.server.watch;
  if ((watch.flags & WATCH.mutations) !== 0) watch.itemStore(f.buf.subarray(f.keyOffset, f.keyOffset + f.keyLength), outcome, append ? 'append' : 'prepend', r, 0, f.valueLength);
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, append ? OP.APPEND : OP.PREPEND));
  h.holdUntil(r.batch);
  h.mutationOk(f, quiet, r);
}
