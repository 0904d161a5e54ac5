/**
 * SASL on the binary protocol (memcached's -S): the user database (memcached's format, one
 * `user:password` a line), PLAIN with constant-time password checks and SCRAM (scram.ts), and the
 * per-connection gate that answers AUTH_ERROR to every command but the few memcached allows
 * before authentication.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { OP } from '../../protocol/opcodes.js';
import { ScramExchange, scramCredentials, type ScramCredentials, type ScramHash } from './scram.js';

/** A user database file that cannot be used; the message names the file and the line. */
export class PasswordFileError extends Error {}

/** Commands a connection may send before it authenticated (memcached's `authenticated()`). */
const BEFORE_AUTH = new Set<number>([OP.SASL_LIST_MECHS, OP.SASL_AUTH, OP.SASL_STEP, OP.VERSION]);

/** Strongest first, as kv_engine lists them. */
export const SASL_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const;

interface User {
  /** SHA-256 of the password, for PLAIN's constant-time check. */
  plain: Buffer;
  scram: Record<ScramHash, ScramCredentials>;
}

const digest = (text: Buffer | string): Buffer => createHash('sha256').update(text).digest();

export class SaslUsers {
  private constructor(private readonly users: ReadonlyMap<string, User>) {}

  /** Reads memcached's password file; throws PasswordFileError naming a bad line. */
  static load(path: string): SaslUsers {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new PasswordFileError(`${path}: cannot read the SASL password file (${err instanceof Error ? err.message : String(err)})`);
    }
    const users = new Map<string, User>();
    text.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
      if (line === '') return;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new PasswordFileError(`${path}:${i + 1}: not "user:password"`);
      const password = line.slice(colon + 1);
      users.set(line.slice(0, colon), { plain: digest(password), scram: { sha256: scramCredentials('sha256', password), sha512: scramCredentials('sha512', password) } });
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
    const stored = this.users.get(user)?.plain;
    // Hash both sides so the comparison takes the same time whatever the lengths.
    const given = digest(payload.subarray(second + 1));
    const ok = timingSafeEqual(given, stored ?? digest('\0unknown user\0')) && stored !== undefined;
    return { ok, user };
  }

  /** A SCRAM exchange against these users. */
  scram(hash: ScramHash): ScramExchange {
    return new ScramExchange(hash, (user) => this.users.get(user)?.scram[hash]);
  }
}

/** One connection's authentication state. */
export class ConnectionAuth {
  authenticated = false;
  /** A SCRAM exchange waiting for its SASL_STEP. */
  scram: ScramExchange | null = null;

  constructor(private readonly users: SaslUsers | null) {}

  /** Whether a command may run now: always without -S, else once authenticated or for the
   * commands memcached allows before. */
  allows(opcode: number): boolean {
    return this.users === null || this.authenticated || BEFORE_AUTH.has(opcode);
  }
}
