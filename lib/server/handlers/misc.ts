/**
 * NOOP, VERSION, QUIT and VERBOSITY: commands that touch no item.
 */
import { u32Extra } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { setVerbosity } from '../../log.js';
import type { HandlerContext } from '../handler-context.js';

/** NOOP answers; the connection writes everything queued at the end of each input chunk, so
 * the pipeline is flushed by then (memcached: "NOOP forces pipeline flush"). */
export function handleNoop(h: HandlerContext, f: Frame): void {
  h.ok(f, false, 0);
}

export function handleVersion(h: HandlerContext, f: Frame): void {
  const v = h.server.version;
  h.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0, 0, 0, Buffer.byteLength(v));
  h.out.ascii(v);
}

export function handleQuit(h: HandlerContext, f: Frame, quiet: boolean): void {
  h.ok(f, quiet, 0);
  h.closeAfterWrite();
}

export function handleVerbosity(h: HandlerContext, f: Frame): void {
  h.server.verbosity = u32Extra(f.buf, f.extrasOffset);
  setVerbosity(h.server.verbosity);
  h.ok(f, false, 0);
}
