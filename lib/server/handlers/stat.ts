/**
 * STAT: one reply per statistic (key = name, value = text) and an empty terminator, all with
 * the request's opaque (memcached process_bin_stat). The groups live in ../stats.ts; an unknown
 * group is KEY_ENOENT.
 */
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import type { HandlerContext } from '../handler-context.js';
import { resetStats, statGroup } from '../stats.js';

export function handleStat(h: HandlerContext, f: Frame): void {
  const key = f.buf.toString('latin1', f.keyOffset, f.keyOffset + f.keyLength);
  if (key === 'reset') {
    resetStats(h.server);
  } else {
    const pairs = statGroup(h.server, key);
    if (pairs === null) return h.fail(f, STATUS_CODE.KEY_ENOENT);
    for (const [name, value] of pairs) {
      const text = String(value);
      const nameLength = Buffer.byteLength(name);
      h.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0, 0, nameLength, nameLength + Buffer.byteLength(text));
      h.out.ascii(name);
      h.out.ascii(text);
    }
  }
  h.out.simple(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0);
}
