/**
 * The user database file, as memcached reads it for -S (MEMCACHED_SASL_PWDB) and -Y: one
 * `user:password` a line. A line may instead hold salted SCRAM keys, written by
 * `lmcached passwd`, so that the file need not hold the password itself:
 *
 *   user:$scram$<iterations>$<salt>$<stored key>$<server key>$<salt>$<stored key>$<server key>
 *
 * (base64; SHA-256's three fields, then SHA-512's). A clear password that starts with
 * `$scram$` cannot be used.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SCRAM_ITERATIONS, scramCredentials, type ScramCredentials, type ScramHash } from './scram.js';

/** A user database file that cannot be used; the message names the file and the line. */
export class PasswordFileError extends Error {}

export const SALTED_PREFIX = '$scram$';
const HASHES: readonly ScramHash[] = ['sha256', 'sha512'];
const LENGTH: Record<ScramHash, number> = { sha256: 32, sha512: 64 };

export interface User {
  /** Whether `password` is this user's: constant time for a clear entry (both sides hashed);
   * a salted entry costs one PBKDF2. */
  checks(password: Buffer): boolean;
  scram: Record<ScramHash, ScramCredentials>;
  salted: boolean;
}

const digest = (text: Buffer | string): Buffer => createHash('sha256').update(text).digest();

function clearUser(password: string): User {
  const stored = digest(password);
  return {
    checks: (given) => timingSafeEqual(digest(given), stored),
    scram: { sha256: scramCredentials('sha256', password), sha512: scramCredentials('sha512', password) },
    salted: false,
  };
}

/** The StoredKey a password gives under these credentials. */
function storedKeyOf(hash: ScramHash, password: Buffer, creds: ScramCredentials): Buffer {
  const salted = pbkdf2Sync(password, creds.salt, creds.iterations, LENGTH[hash], hash);
  return createHash(hash).update(createHmac(hash, salted).update('Client Key').digest()).digest();
}

function saltedUser(entry: string): User | null {
  const f = entry.slice(SALTED_PREFIX.length).split('$');
  const iterations = Number(f[0]);
  if (f.length !== 7 || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) return null;
  const b64 = (s: string, length: number): Buffer | null => {
    const b = /^[A-Za-z0-9+/]+=*$/.test(s) ? Buffer.from(s, 'base64') : null;
    return b !== null && (length === 0 ? b.length > 0 : b.length === length) ? b : null;
  };
  const creds = (at: number, hash: ScramHash): ScramCredentials | null => {
    const salt = b64(f[at], 0);
    const storedKey = b64(f[at + 1], LENGTH[hash]);
    const serverKey = b64(f[at + 2], LENGTH[hash]);
    return salt === null || storedKey === null || serverKey === null ? null : { salt, iterations, storedKey, serverKey };
  };
  const sha256 = creds(1, 'sha256');
  const sha512 = creds(4, 'sha512');
  if (sha256 === null || sha512 === null) return null;
  return {
    checks: (given) => timingSafeEqual(storedKeyOf('sha256', given, sha256), sha256.storedKey),
    scram: { sha256, sha512 },
    salted: true,
  };
}

/** A user from the part of a line after the colon; null for a malformed salted entry. */
export function userOf(entry: string): User | null {
  return entry.startsWith(SALTED_PREFIX) ? saltedUser(entry) : clearUser(entry);
}

/** Reads a user database; throws PasswordFileError naming the file and a bad line. */
export function readPasswordFile(path: string): Map<string, User> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PasswordFileError(`${path}: cannot read the password file (${err instanceof Error ? err.message : String(err)})`);
  }
  const users = new Map<string, User>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line === '') return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new PasswordFileError(`${path}:${i + 1}: not "user:password"`);
    const user = userOf(line.slice(colon + 1));
    if (user === null) throw new PasswordFileError(`${path}:${i + 1}: a malformed ${SALTED_PREFIX} entry (write it with lmcached passwd)`);
    users.set(line.slice(0, colon), user);
  });
  return users;
}

/** A salted entry for `user` (one line, no newline), as `lmcached passwd` writes it. */
export function saltedEntry(user: string, password: string, iterations = SCRAM_ITERATIONS): string {
  const fields = HASHES.flatMap((hash) => {
    const c = scramCredentials(hash, password, randomBytes(16), iterations);
    return [c.salt, c.storedKey, c.serverKey].map((b) => b.toString('base64'));
  });
  return `${user}:${SALTED_PREFIX}${iterations}$${fields.join('$')}`;
}
