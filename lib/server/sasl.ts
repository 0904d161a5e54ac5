/**
 * SASL on the binary protocol (memcached's -S): the user database (memcached's format, one
 * `user:password` a line), PLAIN with constant-time password checks and SCRAM (scram.ts), and the
 * per-connection gate that answers AUTH_ERROR to every command but the few memcached allows
 * before authentication.
 */
import { OP } from '../../protocol/opcodes.js';
import { ScramExchange, type ScramHash } from './scram.js';
import { readPasswordFile, saltedEntry, userOf, type User } from './password-file.js';

export { PasswordFileError } from './password-file.js';

/** Commands a connection may send before it authenticated (memcached's `authenticated()`). */
const BEFORE_AUTH = new Set<number>([OP.SASL_LIST_MECHS, OP.SASL_AUTH, OP.SASL_STEP, OP.VERSION]);

/** Strongest first, as kv_engine lists them. */
export const SASL_MECHANISMS = ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const;

/** Checked for a user that does not exist, so the answer takes as long as for one that does:
 * a clear entry, and a salted one if the file has any. */
const NOBODY_CLEAR = userOf('\0no password\0');
let nobodySalted: User | null = null;

export class SaslUsers {
  private constructor(
    private readonly users: ReadonlyMap<string, User>,
    private readonly anySalted: boolean,
  ) {}

  /** Reads memcached's password file; throws PasswordFileError naming a bad line. */
  static load(path: string): SaslUsers {
    const users = readPasswordFile(path);
    return new SaslUsers(users, [...users.values()].some((u) => u.salted));
  }

  get size(): number {
    return this.users.size;
  }

  /** Whether `password` is `user`'s (PLAIN and -Y): never faster for an unknown user. */
  checkPassword(user: string, password: Buffer): boolean {
    const known = this.users.get(user);
    if (known !== undefined) return known.checks(password);
    NOBODY_CLEAR?.checks(password);
    if (this.anySalted) {
      nobodySalted ??= userOf(saltedEntry('nobody', '\0no password\0').slice('nobody:'.length));
      nobodySalted?.checks(password);
    }
    return false;
  }

  /** PLAIN (RFC 4616): `authzid NUL authcid NUL password`. Says whether it passed, with the
   * user name it claimed (for the log; never the password). */
  checkPlain(payload: Buffer): { ok: boolean; user: string } {
    const first = payload.indexOf(0);
    const second = first < 0 ? -1 : payload.indexOf(0, first + 1);
    if (second < 0) return { ok: false, user: '' };
    const user = payload.toString('utf8', first + 1, second);
    return { ok: this.checkPassword(user, payload.subarray(second + 1)), user };
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
