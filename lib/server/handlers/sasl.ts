/**
 * SASL_LIST_MECHS, SASL_AUTH and SASL_STEP (memcached's -S): PLAIN, SCRAM-SHA-256 and
 * SCRAM-SHA-512 against the password file.
 * A failed attempt answers AUTH_ERROR, leaves the connection unauthenticated, and logs the user
 * name it claimed, never the password.
 */
import type { Frame } from '../../../protocol/framer.js';
import { STATUS_CODE } from '../../../protocol/status.js';
import { log } from '../../log.js';
import { SASL_MECHANISMS } from '../sasl.js';
import { SCRAM_MECHANISMS } from '../scram.js';
import type { HandlerContext } from '../handler-context.js';

function reply(h: HandlerContext, f: Frame, text: string, status: number = STATUS_CODE.SUCCESS): void {
  h.out.header(f.opcode, status, f.opaque, 0, 0, 0, Buffer.byteLength(text));
  h.out.ascii(text);
}

function failed(h: HandlerContext, f: Frame, mechanism: string, user: string): void {
  h.server.counters.auth_errors++;
  h.auth.authenticated = false;
  h.auth.scram = null;
  log.warn(`sasl: authentication failed (mechanism ${JSON.stringify(mechanism)}, user ${JSON.stringify(user)})`);
  h.fail(f, STATUS_CODE.AUTH_ERROR);
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
  const hash = Object.hasOwn(SCRAM_MECHANISMS, mechanism) ? SCRAM_MECHANISMS[mechanism] : undefined;
  if (hash !== undefined) {
    // First round of SCRAM: the server-first message, AUTH_CONTINUE; SASL_STEP finishes.
    const exchange = users.scram(hash);
    const serverFirst = exchange.first(payload.toString('utf8'));
    if (serverFirst === null) return failed(h, f, mechanism, '');
    h.auth.authenticated = false;
    h.auth.scram = exchange;
    return reply(h, f, serverFirst, STATUS_CODE.AUTH_CONTINUE);
  }
  const result = mechanism === 'PLAIN' ? users.checkPlain(payload) : { ok: false, user: '' };
  if (!result.ok) return failed(h, f, mechanism, result.user);
  h.auth.scram = null;
  h.auth.authenticated = true;
  reply(h, f, 'Authenticated');
}

/** SCRAM's second round: the client's proof; the answer carries the server's signature. */
export function handleSaslStep(h: HandlerContext, f: Frame): void {
  h.server.counters.auth_cmds++;
  const mechanism = f.buf.toString('latin1', f.keyOffset, f.keyOffset + f.keyLength);
  const exchange = h.auth.scram;
  if (exchange === null) return failed(h, f, mechanism, '');
  const serverFinal = exchange.final(f.buf.toString('utf8', f.valueOffset, f.valueOffset + f.valueLength));
  if (serverFinal === null) return failed(h, f, mechanism, exchange.user);
  h.auth.scram = null;
  h.auth.authenticated = true;
  reply(h, f, serverFinal);
}
