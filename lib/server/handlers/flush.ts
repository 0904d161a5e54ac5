/**
 * FLUSH and FLUSHQ, with an optional delay in the extras (memcached process_bin_flush).
 */
import { EXTRAS_LENGTH, u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { Outcome } from '../../engine/outcome.js';
import type { Connection } from '../connection.js';
import { statusOf } from '../outcome-status.js';

export function handleFlush(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  const outcome = engine.flush(f.extrasLength === EXTRAS_LENGTH.flush ? u32Extra(f.buf, f.extrasOffset) : 0);
  if (outcome !== Outcome.Success) return conn.fail(f, statusOf(outcome, OP.FLUSH));
  conn.holdUntil(engine.lastBatch);
  conn.ok(f, quiet, 0);
}
