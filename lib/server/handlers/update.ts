/**
 * SET, ADD, REPLACE and their quiet twins (memcached process_bin_update).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { storeExpiry, storeFlags } from '../../../protocol/extras.js';
import { Outcome } from '../../engine/outcome.js';
import { StoreMode } from '../../engine/requests.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';
import { WATCH, ttlOf } from '../watch-log.js';

export function handleUpdate(h: HandlerContext, f: Frame, quiet: boolean): void {
  const loud = f.opcode === OP.SET || f.opcode === OP.SETQ ? OP.SET : f.opcode === OP.ADD || f.opcode === OP.ADDQ ? OP.ADD : OP.REPLACE;
  const mode = loud === OP.SET ? StoreMode.Set : loud === OP.ADD ? StoreMode.Add : StoreMode.Replace;
  const r = h.result;
  const exptime = storeExpiry(f.buf, f.extrasOffset);
  const outcome = h.engine.store(
    { mode, key: h.keyOf(f), flags: storeFlags(f.buf, f.extrasOffset), exptime, cas: f.cas, value: f.buf, valueOffset: f.valueOffset, valueLength: f.valueLength, datatype: f.datatype },
    r,
  );
  const watch = h.server.watch;
  if ((watch.flags & WATCH.mutations) !== 0) {
    const cmd = f.cas !== 0 ? 'cas' : loud === OP.SET ? 'set' : loud === OP.ADD ? 'add' : 'replace';
    watch.itemStore(f.buf.subarray(f.keyOffset, f.keyOffset + f.keyLength), outcome, cmd, r, ttlOf(exptime), f.valueLength);
  }
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, loud));
  h.holdUntil(r.batch);
  h.mutationOk(f, quiet, r);
}
