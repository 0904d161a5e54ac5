/**
 * SET, ADD, REPLACE and their quiet twins (memcached process_bin_update).
 */
import type { Frame } from '../../../protocol/framer.js';
import { OP } from '../../../protocol/opcodes.js';
import { storeExpiry, storeFlags } from '../../../protocol/extras.js';
import { Outcome } from '../../engine/outcome.js';
import { StoreMode, type StoreArgs } from '../../engine/requests.js';
import type { HandlerContext } from '../handler-context.js';
import { statusOf } from '../outcome-status.js';
import { WATCH, ttlOf } from '../watch-log.js';

/** Reused by every SET: engine.store reads its arguments and keeps none of them. */
const EMPTY = Buffer.alloc(0);
const args: StoreArgs = { mode: StoreMode.Set, key: { vbid: 0, buf: EMPTY, offset: 0, length: 0 }, flags: 0, exptime: 0, cas: 0, value: EMPTY, valueOffset: 0, valueLength: 0, datatype: 0 };

export function handleUpdate(h: HandlerContext, f: Frame, quiet: boolean): void {
  const loud = f.opcode === OP.SET || f.opcode === OP.SETQ ? OP.SET : f.opcode === OP.ADD || f.opcode === OP.ADDQ ? OP.ADD : OP.REPLACE;
  const mode = loud === OP.SET ? StoreMode.Set : loud === OP.ADD ? StoreMode.Add : StoreMode.Replace;
  const r = h.result;
  const exptime = storeExpiry(f.buf, f.extrasOffset);
  const a = args;
  a.mode = mode;
  a.key = h.keyOf(f);
  a.flags = storeFlags(f.buf, f.extrasOffset);
  a.exptime = exptime;
  a.cas = f.cas;
  a.value = f.buf;
  a.valueOffset = f.valueOffset;
  a.valueLength = f.valueLength;
  a.datatype = f.datatype;
  const outcome = h.engine.store(a, r);
  a.value = EMPTY; // the frame's buffer is not kept alive by this object
  const watch = h.server.watch;
  if ((watch.flags & WATCH.mutations) !== 0) {
    const cmd = f.cas !== 0 ? 'cas' : loud === OP.SET ? 'set' : loud === OP.ADD ? 'add' : 'replace';
    watch.itemStore(f.buf.subarray(f.keyOffset, f.keyOffset + f.keyLength), outcome, cmd, r, ttlOf(exptime), f.valueLength);
  }
  if (outcome !== Outcome.Success) return h.fail(f, statusOf(outcome, loud));
  h.holdUntil(r.batch);
  h.mutationOk(f, quiet, r);
}
