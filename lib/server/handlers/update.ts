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

export function handleUpdate(h: HandlerContext, f: Frame, quiet: boolean): void {
  const loud = f.opcode === OP.SET || f.opcode === OP.SETQ ? OP.SET : f.opcode === OP.ADD || f.opcode === OP.ADDQ ? OP.ADD : OP.REPLACE;
  const mode = loud === OP.SET ? StoreMode.Set : loud === OP.ADD ? StoreMode.Add : StoreMode.Replace;
  const r = h.result;
  const outcome = h.engine.store(
    { mode, key: h.keyOf(f), flags: storeFlags(f.buf, f.extrasOffset), exptime: storeExpiry(f.buf, f.extrasOffset), cas: f.cas, value: f.buf, valueOffset: f.valueOffset, valueLength: f.valueLength, datatype: f.datatype },
    r,
  );
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, loud));
  h.holdUntil(r.batch);
  h.mutationOk(f, quiet, r);
}
