/**
 * GET, GETK, TOUCH, GAT, GATK and the quiet twins (memcached process_bin_get_or_touch).
 * Hits always answer; quiet misses stay silent; TOUCH answers flags but no value.
 */
import { EXTRAS_LENGTH, u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { Outcome } from '../../engine/outcome.js';
import type { Connection } from '../connection.js';
import { statusOf } from '../outcome-status.js';

export function handleGetOrTouch(conn: Connection, f: Frame, quiet: boolean): void {
  const engine = conn.ctx.engine;
  const op = f.opcode;
  const touch = op === OP.TOUCH || op === OP.GAT || op === OP.GATQ || op === OP.GATK || op === OP.GATKQ;
  const withKey = op === OP.GETK || op === OP.GETKQ || op === OP.GATK || op === OP.GATKQ;
  const outcome = touch ? engine.touch(conn.keyOf(f), u32Extra(f.buf, f.extrasOffset)) : engine.get(conn.keyOf(f));
  if (outcome === Outcome.NotFound) {
    if (quiet) return;
    if (withKey) {
      conn.out.header(op, STATUS_CODE.KEY_ENOENT, f.opaque, 0, 0, f.keyLength, f.keyLength);
      conn.out.bytes(f.buf, f.keyOffset, f.keyLength);
    } else {
      conn.fail(f, STATUS_CODE.KEY_ENOENT);
    }
    return;
  }
  if (outcome !== Outcome.Success) return conn.fail(f, statusOf(outcome, OP.GET));
  if (touch) conn.holdUntil(engine.lastBatch);
  const v = engine.view;
  const valueLength = op === OP.TOUCH ? 0 : v.valueLength;
  const keyLength = withKey ? f.keyLength : 0;
  const extras = EXTRAS_LENGTH.getResponse;
  conn.out.header(op, STATUS_CODE.SUCCESS, f.opaque, v.cas, extras, keyLength, extras + keyLength + valueLength);
  conn.out.u32(v.flags);
  if (keyLength > 0) conn.out.bytes(f.buf, f.keyOffset, keyLength);
  conn.out.bytes(v.value, v.valueOffset, valueLength, true);
}
