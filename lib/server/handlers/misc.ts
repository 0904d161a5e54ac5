/**
 * NOOP, VERSION, QUIT, VERBOSITY and SASL_LIST_MECHS: commands that touch no item.
 */
import { u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { setVerbosity } from '../../log.js';
import type { Connection } from '../connection.js';

/** NOOP answers; the connection writes everything queued at the end of each input chunk, so
 * the pipeline is flushed by then (memcached: "NOOP forces pipeline flush"). */
export function handleNoop(conn: Connection, f: Frame): void {
  conn.ok(f, false, 0);
}

export function handleVersion(conn: Connection, f: Frame): void {
  const v = conn.ctx.version;
  conn.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0, 0, 0, Buffer.byteLength(v));
  conn.out.ascii(v);
}

export function handleQuit(conn: Connection, f: Frame, quiet: boolean): void {
  conn.ok(f, quiet, 0);
  conn.closeAfterWrite();
}

export function handleVerbosity(conn: Connection, f: Frame): void {
  conn.ctx.verbosity = u32Extra(f.buf, f.extrasOffset);
  setVerbosity(conn.ctx.verbosity);
  conn.ok(f, false, 0);
}

/** No authentication yet, so no mechanisms: an empty successful list. */
export function handleSaslListMechs(conn: Connection, f: Frame): void {
  conn.ok(f, false, 0);
}
