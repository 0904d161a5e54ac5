/**
 * SASL_LIST_MECHS, SASL_AUTH and SASL_STEP (memcached's -S): PLAIN against the password file.
 * A failed attempt answers AUTH_ERROR, leaves the connection unauthenticated, and logs the user
 * name it claimed, never the password.
 */
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { log } from '../../log.js';
import { SASL_MECHANISMS } from '../sasl.js';
import type { HandlerContext } from '../handler-context.js';

function reply(h: HandlerContext, f: Frame, text: string): void {
  h.out.header(f.opcode, STATUS_CODE.SUCCESS, f.opaque, 0, 0, 0, text.length);
  h.out.ascii(text);
}

/** The mechanisms offered, space-separated; none without -S. */
export function handleSaslListMechs(h: HandlerContext, f: Frame): void {
  if (h.server.sasl === null) return h.ok(f, false, 0);
  reply(h, f, SASL_MECHANISMS.join(' '));
}

export function handleSaslAuth(h: HandlerContext, f: Frame): void {
  const users = h.server.sasl;
  h.server.counters.auth_cmds++;
  const mechanism = f.buf.toString('latin1', f.keyOffset, f.keyOffset + f.keyLength);
  if (users === null) return h.fail(f, STATUS_CODE.NOT_SUPPORTED, 'SASL is not enabled (-S)');
  const payload = f.buf.subarray(f.valueOffset, f.valueOffset + f.valueLength);
  const result = mechanism === 'PLAIN' ? users.checkPlain(payload) : { ok: false, user: '' };
  if (!result.ok) {
    h.server.counters.auth_errors++;
    h.auth.authenticated = false;
    log.warn(`sasl: authentication failed (mechanism ${JSON.stringify(mechanism)}, user ${JSON.stringify(result.user)})`);
    return h.fail(f, STATUS_CODE.AUTH_ERROR);
  }
  h.auth.authenticated = true;
  reply(h, f, 'Authenticated');
}

/** PLAIN completes in one round: a step has nothing to continue. */
export function handleSaslStep(h: HandlerContext, f: Frame): void {
  h.server.counters.auth_cmds++;
  h.server.counters.auth_errors++;
  h.fail(f, STATUS_CODE.AUTH_ERROR);
}
