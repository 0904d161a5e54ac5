/**
 * SASL on the binary protocol (memcached's -S): the user database (memcached's format, one
 * `user:password` a line), the PLAIN mechanism with constant-time password checks, and the
 * per-connection gate that answers AUTH_ERROR to every command but the few memcached allows
 * before authentication.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OP } from '../../protocol/opcodes.js';

/** A user database file that cannot be used; the message names the file and the line. */
export class PasswordFileError extends Error {}

/** Commands a connection may send before it authenticated (memcached's `authenticated()`). */
const BEFORE_AUTH = new Set<number>([OP.SASL_LIST_MECHS, OP.SASL_AUTH, OP.SASL_STEP, OP.VERSION]);

export const SASL_MECHANISMS = ['PLAIN'] as const;

const digest = (text: Buffer | string): Buffer => createHash('sha256').update(text).digest();

export class SaslUsers {
  private constructor(private readonly users: ReadonlyMap<string, Buffer>) {}

  /** Reads memcached's password file; throws PasswordFileError naming a bad line. */
  static load(path: string): SaslUsers {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new PasswordFileError(`${path}: cannot read the SASL password file (${err instanceof Error ? err.message : String(err)})`);
    }
    const users = new Map<string, Buffer>();
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line === '') return;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new PasswordFileError(`${path}:${i + 1}: not "user:password"`);
      users.set(line.slice(0, colon), digest(line.slice(colon + 1)));
    });
    return new SaslUsers(users);
  }

  get size(): number {
    return this.users.size;
  }

  /** PLAIN (RFC 4616): `authzid NUL authcid NUL password`. Returns the user on success, or
   * null with the user name it claimed (for the log; never the password). */
  checkPlain(payload: Buffer): { ok: boolean; user: string } {
    const first = payload.indexOf(0);
    const second = first < 0 ? -1 : payload.indexOf(0, first + 1);
    if (second < 0) return { ok: false, user: '' };
    const user = payload.toString('utf8', first + 1, second);
    const stored = this.users.get(user);
    // Hash both sides so the comparison takes the same time whatever the lengths.
    const given = digest(payload.subarray(second + 1));
    const ok = timingSafeEqual(given, stored ?? digest('\0unknown user\0')) && stored !== undefined;
    return { ok, user };
  }
}

/** One connection's authentication state. */
export class ConnectionAuth {
  authenticated = false;

  constructor(private readonly users: SaslUsers | null) {}

  /** Whether a command may run now: always without -S, else once authenticated or for the
   * commands memcached allows before. */
  allows(opcode: number): boolean {
    return this.users === null || this.authenticated || BEFORE_AUTH.has(opcode);
  }
}
