/**
 * memcached's meta commands (mg, ms, md, ma, mn, me), their flags read as memcached 1.6.18's
 * _meta_flag_preparse reads them: one token per flag, its first character the flag and the
 * rest its argument; a flag seen twice, an unknown flag or a bad argument is an error line.
 * What the flags mean is the server's business (lib/server/meta-session.ts).
 */
import { parseI32, parseU32, parseU64 } from './text-number.js';

/** memcached's bound on a meta command's token count (its ntokens, with the end marker). */
export const META_MAX_TOKENS = 20;
export const META_MAX_OPAQUE = 32;

export interface MetaFlags {
  /** The flag tokens in the order given (the reply echoes O, k, c, ... in this order). */
  tokens: string[];
  seen: Set<string>;
  base64: boolean;
  quiet: boolean;
  value: boolean;
  /** T: a new TTL. */
  ttl: number | null;
  /** N: vivify on miss with this TTL. */
  vivify: number | null;
  /** R: recache when the TTL left is below this. */
  recache: number | null;
  /** F: client flags (ms). */
  clientFlags: number;
  /** C: compare CAS. */
  compareCas: bigint | null;
  /** M: mode character (ms, ma). */
  mode: string | null;
  /** J and D: ma's initial value and delta. */
  initial: bigint;
  delta: bigint;
}

const BAD_TOKEN = 'CLIENT_ERROR bad token in command line format';

/** Reads the flag tokens; `fallback` is the error memcached reports for an argument error
 * that sets no message of its own (F). */
export function parseMetaFlags(flagTokens: readonly string[], fallback: string): MetaFlags | { error: string } {
  const f: MetaFlags = { tokens: [...flagTokens], seen: new Set(), base64: false, quiet: false, value: false, ttl: null, vivify: null, recache: null, clientFlags: 0, compareCas: null, mode: null, initial: 0n, delta: 1n };
  let error: string | null = null;
  for (const token of flagTokens) {
    const o = token[0];
    if (o.charCodeAt(0) >= 127 || f.seen.has(o)) return { error: 'CLIENT_ERROR duplicate flag' };
    f.seen.add(o);
    const arg = token.slice(1);
    switch (o) {
      case 'b':
        f.base64 = true;
        break;
      case 'N':
      case 'T':
      case 'R': {
        const n = parseI32(arg);
        if (n === null) error = BAD_TOKEN;
        else if (o === 'N') f.vivify = n;
        else if (o === 'T') f.ttl = n;
        else f.recache = n;
        break;
      }
      case 'O':
      case 'P':
      case 'L':
      case 'k':
      case 's':
      case 't':
      case 'c':
      case 'f':
      case 'l':
      case 'h':
      case 'u':
      case 'I':
        break;
      case 'v':
        f.value = true;
        break;
      case 'q':
        f.quiet = true;
        break;
      case 'F': {
        const n = parseU32(arg);
        if (n === null) error ??= fallback;
        else f.clientFlags = n;
        break;
      }
      case 'C': {
        const n = parseU64(arg);
        if (n === null) error = BAD_TOKEN;
        else f.compareCas = n;
        break;
      }
      case 'M':
        if (token.length !== 2) error = 'CLIENT_ERROR incorrect length for M token';
        else f.mode = arg;
        break;
      case 'J': {
        const n = parseU64(arg);
        if (n === null) error = 'CLIENT_ERROR invalid numeric initial value';
        else f.initial = n;
        break;
      }
      case 'D': {
        const n = parseU64(arg);
        if (n === null) error = 'CLIENT_ERROR invalid numeric delta value';
        else f.delta = n;
        break;
      }
      default:
        return { error: 'CLIENT_ERROR invalid flag' };
    }
  }
  return error === null ? f : { error };
}

/** memcached's base64 key (the b flag): null when it does not decode. */
export function decodeBase64Key(token: string): Buffer | null {
  if (token.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(token)) return null;
  const key = Buffer.from(token, 'base64');
  return key.length === 0 ? null : key;
}
