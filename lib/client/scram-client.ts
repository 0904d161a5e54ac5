/**
 * The client's side of SCRAM (RFC 5802, RFC 7677), as lmcached's own tools and replicas use it
 * to authenticate to a server started with -S: the password never crosses the wire, and the
 * server proves it knows the user's keys too (its signature is checked).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export type ScramClientHash = 'sha256' | 'sha512';
const LENGTH: Record<ScramClientHash, number> = { sha256: 32, sha512: 64 };
/** Fewer iterations than RFC 7677's minimum would let a fake server cheapen a guess. */
const MIN_ITERATIONS = 4096;

/** RFC 5802's saslname: "," and "=" escaped. */
const saslName = (user: string): string => user.replace(/=/g, '=3D').replace(/,/g, '=2C');

export class ScramClient {
  private readonly clientFirstBare: string;
  private readonly nonce = randomBytes(18).toString('base64');
  private expectedSignature: Buffer | null = null;

  constructor(
    private readonly hash: ScramClientHash,
    user: string,
    private readonly password: string,
  ) {
    this.clientFirstBare = `n=${saslName(user)},r=${this.nonce}`;
  }

  /** SASL_AUTH's payload. */
  first(): string {
    return `n,,${this.clientFirstBare}`;
  }

  /** SASL_STEP's payload for the server-first message; throws if that message is not one. */
  final(serverFirst: string): string {
    const f = new Map(serverFirst.split(',').map((kv) => [kv.slice(0, 1), kv.slice(2)] as const));
    const nonce = f.get('r') ?? '';
    const salt = Buffer.from(f.get('s') ?? '', 'base64');
    const iterations = Number(f.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length || salt.length === 0 || !Number.isInteger(iterations) || iterations < MIN_ITERATIONS) {
      throw new Error('SCRAM: the server-first message is malformed');
    }
    const salted = pbkdf2Sync(this.password, salt, iterations, LENGTH[this.hash], this.hash);
    const clientKey = createHmac(this.hash, salted).update('Client Key').digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = createHmac(this.hash, createHash(this.hash).update(clientKey).digest()).update(authMessage).digest();
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ signature[i];
    const serverKey = createHmac(this.hash, salted).update('Server Key').digest();
    this.expectedSignature = createHmac(this.hash, serverKey).update(authMessage).digest();
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** Whether the server-final message carries the server's right signature. */
  verify(serverFinal: string): boolean {
    const m = /^v=([A-Za-z0-9+/=]+)$/.exec(serverFinal);
    if (m === null || this.expectedSignature === null) return false;
    const given = Buffer.from(m[1], 'base64');
    return given.length === this.expectedSignature.length && timingSafeEqual(given, this.expectedSignature);
  }
}
