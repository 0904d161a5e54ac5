/**
 * A request whose value is over the item size limit (-I), which the framer skips rather than
 * buffers: memcached's answer to it.
 */
import type { Frame } from '../../protocol/framer.js';
import { OP, OPCODES } from '../../protocol/opcodes.js';
import { STATUS_CODE } from '../../protocol/status.js';
import type { HandlerContext } from './handler-context.js';

/** Answers an oversized request; returns whether the connection reads on. An item command gets
 * E2BIG with its value swallowed (a SET also drops the old item, as memcached does); anything
 * else carrying that much is a protocol error: EINVAL, and the connection closes. */
export function answerOversized(h: HandlerContext, f: Frame): boolean {
  const info = OPCODES[f.opcode];
  if (info === undefined) {
    h.fail(f, STATUS_CODE.UNKNOWN_COMMAND);
    return true;
  }
  if (info.carriesItem) {
    h.server.counters.store_too_large++;
    if (f.keyLength > 0 && info.shape.extras.includes(f.extrasLength) && info.loud === OP.SET) h.engine.dropForOversizedSet(h.keyOf(f));
    h.fail(f, STATUS_CODE.E2BIG);
    return true;
  }
  h.fail(f, STATUS_CODE.EINVAL);
  h.closeAfterWrite();
  return false;
}
