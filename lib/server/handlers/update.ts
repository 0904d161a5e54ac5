/**
 * SET, ADD, REPLACE and their quiet twins (memcached process_bin_update).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { storeExpiry, storeFlags } from '../../../protocol/extras.js';
import { Outcome } from '../../engine/outcome.js';
import { StoreMode } from '../../engine/engine.js';
import type { Connection } from '../connection.js';
import { statusOf } from '../outcome-status.js';

export function handleUpdate(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  const loud = f.opcode === OP.SET || f.opcode === OP.SETQ ? OP.SET : f.opcode === OP.ADD || f.opcode === OP.ADDQ ? OP.ADD : OP.REPLACE;
  const mode = loud === OP.SET ? StoreMode.Set : loud === OP.ADD ? StoreMode.Add : StoreMode.Replace;
  const outcome = engine.store(mode, conn.keyOf(f), storeFlags(f.buf, f.extrasOffset), storeExpiry(f.buf, f.extrasOffset), f.cas, f.buf, f.valueOffset, f.valueLength, f.datatype);
  if (outcome !== Outcome.Success) return conn.fail(f, statusOf(outcome, loud));
  conn.holdUntil(engine.lastBatch);
  conn.mutationOk(f, quiet, engine.lastCas);
}
