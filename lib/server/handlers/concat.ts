/**
 * APPEND, PREPEND and their quiet twins (memcached process_bin_append_prepend).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { Connection } from '../connection.js';
import { statusOf } from '../outcome-status.js';

export function handleConcat(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  const append = f.opcode === OP.APPEND || f.opcode === OP.APPENDQ;
  const outcome = engine.concat(append, conn.keyOf(f), f.cas, f.buf, f.valueOffset, f.valueLength);
  if (outcome !== Outcome.Success) return conn.fail(f, statusOf(outcome, append ? OP.APPEND : OP.PREPEND));
  conn.holdUntil(engine.lastBatch);
  conn.mutationOk(f, quiet, engine.lastCas);
}
