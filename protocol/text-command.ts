/**
 * memcached's text protocol, one command line at a time, as memcached 1.6.18's
 * process_command_ascii reads it: the tokenizer, the token-count checks (a wrong count is
 * `ERROR`, whatever noreply says), then each command's own argument checks (answered with
 * memcached's CLIENT_ERROR lines, silenced by a trailing `noreply`). A line becomes a typed
 * command or the reply it gets; what a command means is the server's business. Lines come
 * from ascii-framer.ts.
 */
import { parseI32, parseU32, parseU64 } from './text-number.js';
import { KEY_MAX_LENGTH } from './validate.js';

export type StoreCommandName = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';

export type TextCommand =
  /** get/gets, and gat/gats with the new expiry (`touch`). Every key is checked here. */
  | { kind: 'get'; keys: string[]; withCas: boolean; touch: number | null }
  /** A data block of `bytes` bytes and "\r\n" follows the line. */
  | { kind: 'store'; cmd: StoreCommandName; key: string; flags: number; exptime: number; bytes: number; cas: bigint; noreply: boolean }
  | { kind: 'delete'; key: string; noreply: boolean }
  | { kind: 'arith'; incr: boolean; key: string; delta: bigint; noreply: boolean }
  | { kind: 'touch'; key: string; exptime: number; noreply: boolean }
  | { kind: 'flush_all'; delay: number; noreply: boolean }
  | { kind: 'version' }
  | { kind: 'verbosity'; level: number; noreply: boolean }
  /** `args`: the tokens after `stats`. */
  | { kind: 'stats'; args: string[] }
  | { kind: 'quit' }
  /** `mode`: how memcached read the arguments ('invalid' once -A allows it). */
  | { kind: 'shutdown'; mode: 'now' | 'graceful' | 'invalid' }
  | { kind: 'cache_memlimit'; megabytes: number; noreply: boolean }
  | { kind: 'refresh_certs'; noreply: boolean }
  /** memcached's tuning and logging commands (slabs, lru, lru_crawler, watch): the tokens,
   * the command first, and memcached's ntokens (the tokens kept, plus one for the end). */
  | { kind: 'admin'; cmd: 'slabs' | 'lru' | 'lru_crawler' | 'watch'; tokens: string[]; n: number }
  /** A meta command (mg, ms, md, ma, mn, me); its tokens, the command first. */
  | { kind: 'meta'; tokens: string[] }
  /** An HTTP request line: memcached closes the connection without a word. */
  | { kind: 'close' }
  /** The line is answered with `reply` (unless `noreply`) and nothing else happens. */
  | { kind: 'error'; reply: string; noreply: boolean };

export const TEXT_ERROR = {
  unknown: 'ERROR',
  badFormat: 'CLIENT_ERROR bad command line format',
  badDelta: 'CLIENT_ERROR invalid numeric delta argument',
  badExptime: 'CLIENT_ERROR invalid exptime argument',
  deleteUsage: 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]',
} as const;

/** memcached's tokenizer keeps at most 23 tokens and a 24th holding the rest; the counts its
 * checks compare include one for the end. */
const MAX_TOKENS = 24;

/** Splits a command line into tokens (spaces separate them; empty tokens vanish). */
export function tokenize(line: string): string[] {
  return line.split(' ').filter((x) => x.length > 0);
}

const error = (reply: string, noreply = false): TextCommand => ({ kind: 'error', reply, noreply });

export function parseTextCommand(line: string): TextCommand {
  const t = tokenize(line);
  // memcached's ntokens: the tokens it kept, plus the end marker.
  const n = Math.min(t.length, MAX_TOKENS - 1) + 1;
  const cmd = t[0] ?? '';
  // set_noreply_maybe: the last token kept.
  const noreply = t[n - 2] === 'noreply';
  if (n < 2 || cmd.length < 2) return error(TEXT_ERROR.unknown);
  if (cmd.length === 2 && cmd[0] === 'm') return 'gsdnae'.includes(cmd[1]) ? { kind: 'meta', tokens: t } : error(TEXT_ERROR.unknown);
  const want = (...counts: number[]): boolean => counts.includes(n);
  switch (cmd) {
    case 'get':
    case 'bget': // an undocumented old name of get, which memcached still answers
    case 'gets':
    case 'gat':
    case 'gats':
      return n < 3 ? error(TEXT_ERROR.unknown) : parseGet(cmd, t);
    case 'set':
    case 'add':
    case 'append':
    case 'replace':
    case 'prepend':
      return want(6, 7) ? parseStore(cmd, t, noreply) : error(TEXT_ERROR.unknown);
    case 'cas':
      return want(7, 8) ? parseStore(cmd, t, noreply) : error(TEXT_ERROR.unknown);
    case 'incr':
    case 'decr': {
      if (!want(4, 5)) return error(TEXT_ERROR.unknown);
      if (t[1].length > KEY_MAX_LENGTH) return error(TEXT_ERROR.badFormat, noreply);
      const delta = parseU64(t[2]);
      return delta === null ? error(TEXT_ERROR.badDelta, noreply) : { kind: 'arith', incr: cmd === 'incr', key: t[1], delta, noreply };
    }
    case 'touch': {
      if (!want(4, 5)) return error(TEXT_ERROR.unknown);
      if (t[1].length > KEY_MAX_LENGTH) return error(TEXT_ERROR.badFormat, noreply);
      const exptime = parseI32(t[2]);
      return exptime === null ? error(TEXT_ERROR.badExptime, noreply) : { kind: 'touch', key: t[1], exptime, noreply };
    }
    case 'delete':
      return n < 3 || n > 5 ? error(TEXT_ERROR.unknown) : parseDelete(t, n, noreply);
    case 'flush_all': {
      if (n < 2 || n > 4) return error(TEXT_ERROR.unknown);
      if (n === (noreply ? 3 : 2)) return { kind: 'flush_all', delay: 0, noreply };
      const delay = parseI32(t[1]);
      return delay === null ? error(TEXT_ERROR.badExptime, noreply) : { kind: 'flush_all', delay, noreply };
    }
    case 'version':
      return { kind: 'version' };
    case 'quit':
      return { kind: 'quit' };
    case 'verbosity': {
      if (!want(3, 4)) return error(TEXT_ERROR.unknown);
      const level = parseU32(t[1]);
      return level === null ? error(TEXT_ERROR.badFormat, noreply) : { kind: 'verbosity', level, noreply };
    }
    case 'stats':
      return { kind: 'stats', args: t.slice(1) };
    case 'shutdown':
      return { kind: 'shutdown', mode: n === 2 ? 'now' : n === 3 && t[1] === 'graceful' ? 'graceful' : 'invalid' };
    case 'cache_memlimit': {
      if (!want(3, 4)) return error(TEXT_ERROR.unknown);
      const megabytes = parseU32(t[1]);
      return megabytes === null ? error(TEXT_ERROR.unknown, noreply) : { kind: 'cache_memlimit', megabytes, noreply };
    }
    case 'refresh_certs':
      return { kind: 'refresh_certs', noreply };
    case 'lru':
      if (n < 3) return error(TEXT_ERROR.unknown);
      return { kind: 'admin', cmd, tokens: t, n };
    case 'slabs':
    case 'lru_crawler':
    case 'watch':
      return { kind: 'admin', cmd, tokens: t, n };
    default:
      // An HTTP request line (someone pointed a browser at the port): close, as memcached.
      return t[n - 2].startsWith('HTTP/') ? { kind: 'close' } : error(TEXT_ERROR.unknown);
  }
}

/** get/gets/gat/gats: every key at most 250 bytes, or the whole command fails (memcached
 * drops what it had gathered and answers the error alone). */
function parseGet(cmd: string, t: readonly string[]): TextCommand {
  let touch: number | null = null;
  let first = 1;
  if (cmd === 'gat' || cmd === 'gats') {
    touch = parseI32(t[1]);
    if (touch === null) return error(TEXT_ERROR.badExptime);
    first = 2;
  }
  const keys = t.slice(first);
  // gat with an expiry and no key: memcached answers END for the empty key list.
  if (keys.some((k) => k.length > KEY_MAX_LENGTH)) return error(TEXT_ERROR.badFormat);
  return { kind: 'get', keys, withCas: cmd === 'gets' || cmd === 'gats', touch };
}

/** `<cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]`. */
function parseStore(cmd: StoreCommandName, t: readonly string[], noreply: boolean): TextCommand {
  const key = t[1];
  if (key.length > KEY_MAX_LENGTH) return error(TEXT_ERROR.badFormat, noreply);
  const flags = parseU32(t[2]);
  const exptime = parseI32(t[3]);
  const bytes = parseI32(t[4]);
  if (flags === null || exptime === null || bytes === null) return error(TEXT_ERROR.badFormat, noreply);
  let cas = 0n;
  if (cmd === 'cas') {
    const c = parseU64(t[5]);
    if (c === null) return error(TEXT_ERROR.badFormat, noreply);
    cas = c;
  }
  if (bytes < 0 || bytes > 0x7fffffff - 2) return error(TEXT_ERROR.badFormat, noreply);
  return { kind: 'store', cmd, key, flags, exptime, bytes, cas, noreply };
}

/** `delete <key> [0] [noreply]` (a hold time other than 0 is refused, as since 1.4). */
function parseDelete(t: readonly string[], n: number, noreply: boolean): TextCommand {
  if (n > 3) {
    const holdIsZero = t[2] === '0';
    const valid = (n === 4 && (holdIsZero || noreply)) || (n === 5 && holdIsZero && noreply);
    if (!valid) return error(TEXT_ERROR.deleteUsage, noreply);
  }
  if (t[1].length > KEY_MAX_LENGTH) return error(TEXT_ERROR.badFormat, noreply);
  return { kind: 'delete', key: t[1], noreply };
}
