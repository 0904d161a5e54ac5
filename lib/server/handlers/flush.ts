/**
 * FLUSH and FLUSHQ, with an optional delay in the extras (memcached process_bin_flush).
 */
import { u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import type { Connection } from '../connection.js';

export function handleFlush(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  engine.flush(f.extrasLength === 4 ? u32Extra(f.buf, f.extrasOffset) : 0);
  conn.holdUntil(engine.lastBatch);
  conn.ok(f, quiet, 0);
}
