/**
 * memcached's ASCII authentication (-Y): until a text connection authenticates, its only
 * command is a `set` whose data block is `user password` (key, flags and expiry ignored,
 * nothing stored, noreply ignored). memcached's replies: STORED, `CLIENT_ERROR authentication
 * failure`, `CLIENT_ERROR bad authentication token format`, `CLIENT_ERROR bad command line
 * termination`, and `CLIENT_ERROR unauthenticated` for every other line. The connection stays
 * open after a failure, as memcached keeps it.
 */
import type { ServerContext } from './context.js';
import { log } from '../log.js';

export const ASCII_AUTH_REPLY = {
  ok: 'STORED',
  unauthenticated: 'CLIENT_ERROR unauthenticated',
  failure: 'CLIENT_ERROR authentication failure',
  badToken: 'CLIENT_ERROR bad authentication token format',
  badTermination: 'CLIENT_ERROR bad command line termination',
} as const;

/** A token longer than any `user password` line is skipped unread rather than buffered. */
export const MAX_TOKEN_BYTES = 4096;

/** What the gate wants after a line: a data block of `read` bytes (then `data`), `skip` bytes
 * skipped (a block too long to be a token) after `reply`, or nothing more (`reply` only). */
export type GateStep = { read: number } | { skip: number; reply: string } | { reply: string };

export class AsciiAuthGate {
  authenticated = false;

  constructor(
    private readonly server: ServerContext,
    private readonly peer: string,
  ) {}

  /** A command line before authentication. */
  line(text: string): GateStep {
    // memcached's tokenizer: spaces separate, empty tokens vanish.
    const t = text.split(' ').filter((x) => x !== '');
    if (t.length < 5 || t[0] !== 'set' || !/^\d{1,10}$/.test(t[4]) || Number(t[4]) > 0xffffffff) return { reply: ASCII_AUTH_REPLY.unauthenticated };
    const bytes = Number(t[4]);
    if (bytes > MAX_TOKEN_BYTES) {
      this.malformed();
      return { skip: bytes + 2, reply: ASCII_AUTH_REPLY.badToken };
    }
    return { read: bytes };
  }

  /** The data block of the `set`; `ok` says it ended in \r\n. Returns the reply. */
  data(block: Buffer, ok: boolean): string {
    if (!ok) return ASCII_AUTH_REPLY.badTermination;
    const t = block.toString('latin1').split(' ').filter((x) => x !== '');
    if (t.length < 2) {
      this.malformed();
      return ASCII_AUTH_REPLY.badToken;
    }
    const users = this.server.asciiUsers;
    this.server.counters.auth_cmds++;
    if (users !== null && users.checkPassword(t[0], Buffer.from(t[1], 'latin1'))) {
      this.authenticated = true;
      log.debug(`ascii auth: ${this.peer} authenticated as ${JSON.stringify(t[0])}`);
      return ASCII_AUTH_REPLY.ok;
    }
    this.server.counters.auth_errors++;
    log.info(`ascii auth: ${this.peer} failed to authenticate as ${JSON.stringify(t[0])}`);
    return ASCII_AUTH_REPLY.failure;
  }

  /** Not an attempt memcached counts in auth_cmds: the token is not `user password`. */
  private malformed(): void {
    log.info(`ascii auth: ${this.peer} sent a malformed token`);
  }
}
