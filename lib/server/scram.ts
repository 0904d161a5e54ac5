/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server's side, as kv_engine runs
 * them over the binary protocol: SASL_AUTH carries the client-first message and is answered
 * AUTH_CONTINUE with the server-first; SASL_STEP carries the client-final and is answered with
 * the server-final (the server's signature). No channel binding.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramHash = 'sha256' | 'sha512';
export const SCRAM_MECHANISMS: Readonly<Record<string, ScramHash>> = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' };
export const SCRAM_ITERATIONS = 4096;

/** What the server keeps of a password for one hash: never the password itself. */
export interface ScramCredentials {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (hash: ScramHash, key: Buffer, text: string): Buffer => createHmac(hash, key).update(text).digest();
const LENGTH: Record<ScramHash, number> = { sha256: 32, sha512: 64 };

export function scramCredentials(hash: ScramHash, password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): ScramCredentials {
  const salted = pbkdf2Sync(password, salt, iterations, LENGTH[hash], hash);
  const clientKey = hmac(hash, salted, 'Client Key');
  return { salt, iterations, storedKey: createHash(hash).update(clientKey).digest(), serverKey: hmac(hash, salted, 'Server Key') };
}

/** RFC 5802's saslname: "=2C" is a comma, "=3D" an equals sign. */
function saslName(text: string): string {
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

/** One connection's exchange, from the client-first message to the client-final. */
export class ScramExchange {
  private clientFirstBare = '';
  /** The GS2 header as sent ("n,," or "n,a=<authzid>,"); the client-final's c= is its base64. */
  private gs2 = '';
  private serverFirst = '';
  private nonce = '';
  private creds: ScramCredentials | undefined;
  user = '';

  constructor(
    private readonly hash: ScramHash,
    private readonly lookup: (user: string) => ScramCredentials | undefined,
  ) {}

  /** The server-first message, or null for a malformed client-first. An unknown user gets a
   * plausible answer too (a fresh salt) and fails at the proof, so users cannot be probed. */
  first(clientFirst: string): string | null {
    // No channel binding ("n" or "y"); an authzid, if any, must be the user itself.
    const m = /^([ny],(?:a=([^,]*))?,)(n=([^,]*),r=([^,]+)(?:,.*)?)$/.exec(clientFirst);
    if (m === null) return null;
    this.gs2 = m[1];
    this.clientFirstBare = m[3];
    this.user = saslName(m[4]);
    if (m[2] !== undefined && m[2] !== '' && saslName(m[2]) !== this.user) return null;
    this.creds = this.lookup(this.user);
    this.nonce = m[5] + randomBytes(18).toString('base64');
    const salt = this.creds?.salt ?? randomBytes(16);
    this.serverFirst = `r=${this.nonce},s=${salt.toString('base64')},i=${this.creds?.iterations ?? SCRAM_ITERATIONS}`;
    return this.serverFirst;
  }

  /** The server-final message when the proof is right, else null. */
  final(clientFinal: string): string | null {
    const m = /^(c=([^,]*),r=([^,]*)),p=([A-Za-z0-9+/=]+)$/.exec(clientFinal);
    if (m === null || this.nonce === '' || m[2] !== Buffer.from(this.gs2).toString('base64') || m[3] !== this.nonce) return null;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${m[1]}`;
    const creds = this.creds ?? scramCredentials(this.hash, randomBytes(16).toString('hex'));
    const proof = Buffer.from(m[4], 'base64');
    const signature = hmac(this.hash, creds.storedKey, authMessage);
    if (proof.length !== signature.length) return null;
    const clientKey = Buffer.alloc(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
    const ok = timingSafeEqual(createHash(this.hash).update(clientKey).digest(), creds.storedKey) && this.creds !== undefined;
    this.nonce = '';
    return ok ? `v=${hmac(this.hash, creds.serverKey, authMessage).toString('base64')}` : null;
  }
}
