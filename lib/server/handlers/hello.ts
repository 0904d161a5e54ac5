/**
 * HELLO (0x1f): feature negotiation. The key names the client; the value lists 2-byte features.
 * The reply lists the ones we enabled; unknown features are ignored.
 */
import { HELLO_FEATURE } from '../../../protocol/extras.js';
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { log } from '../../log.js';
import type { HandlerContext } from '../handler-context.js';

export function handleHello(h: HandlerContext, f: Frame): void {
  const accepted: number[] = [];
  // HELLO replaces the whole feature set, as in kv_engine.
  h.features.mutationSeqno = false;
  h.features.xerror = false;
  for (let at = f.valueOffset; at < f.valueOffset + f.valueLength; at += 2) {
    const feature = f.buf.readUInt16BE(at);
    if (accepted.includes(feature)) continue;
    switch (feature) {
      case HELLO_FEATURE.TCPNODELAY:
        h.setNoDelay(true);
        h.features.tcpNoDelay = true;
        break;
      case HELLO_FEATURE.MUTATION_SEQNO:
        h.features.mutationSeqno = true;
        break;
      case HELLO_FEATURE.XERROR:
        h.features.xerror = true;
        break;
      default:
        continue;
    }
    accepted.push(feature);
  }
  log.debug(`HELLO from ${f.buf.toString('utf8', f.keyOffset, f.keyOffset + f.keyLength)}: ${accepted.join(',')}`);
  h.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0, 0, 0, accepted.length * 2);
  for (const feature of accepted) h.out.u16(feature);
}
