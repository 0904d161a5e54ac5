/**
 * DELETE and DELETEQ (memcached process_bin_delete).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { Connection } from '../connection.js';
import { statusOf } from '../outcome-status.js';

export function handleDelete(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  const outcome = engine.delete(conn.keyOf(f), f.cas);
  if (outcome !== Outcome.Success) return conn.fail(f, statusOf(outcome, OP.DELETE));
  conn.holdUntil(engine.lastBatch);
  conn.mutationOk(f, quiet, 0);
}
