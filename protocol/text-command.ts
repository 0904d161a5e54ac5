/**
 * memcached's text protocol, one command line at a time: the tokenizer and the line parser.
 * A line becomes a typed command, or the error line memcached answers it with; what the
 * command means is the server's business. Lines come from ascii-framer.ts.
 */
import { KEY_MAX_LENGTH } from './validate.js';

export type StoreCommandName = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';

export type TextCommand =
  /** Keys are checked one by one as they are answered (see isValidTextKey). */
  | { kind: 'get'; keys: string[]; withCas: boolean }
  /** A data block of `bytes` bytes and "\r\n" follows the line. */
  | { kind: 'store'; cmd: StoreCommandName; key: string; flags: number; exptime: number; bytes: number; cas: number; noreply: boolean }
  | { kind: 'delete'; key: string; noreply: boolean }
  | { kind: 'arith'; incr: boolean; key: string; delta: bigint; noreply: boolean }
  | { kind: 'touch'; key: string; exptime: number; noreply: boolean }
  | { kind: 'flush_all'; delay: number; noreply: boolean }
  | { kind: 'version' }
  | { kind: 'verbosity'; level: number; noreply: boolean }
  | { kind: 'stats'; group: string }
  | { kind: 'quit' }
  | { kind: 'refresh_certs'; noreply: boolean }
  /** The line is answered with `reply` (unless `noreply`: memcached's out_string stays silent
   * for a noreply command's argument errors) and nothing else happens. */
  | { kind: 'error'; reply: string; noreply: boolean };

export const TEXT_ERROR = {
  unknown: 'ERROR',
  badFormat: 'CLIENT_ERROR bad command line format',
  badDelta: 'CLIENT_ERROR invalid numeric delta argument',
} as const;

const NUMBER = /^\d+$/;

export function isValidTextKey(key: string | undefined): key is string {
  return key !== undefined && key.length > 0 && key.length <= KEY_MAX_LENGTH;
}

function isNumber(text: string | undefined): text is string {
  return text !== undefined && NUMBER.test(text);
}

/** Splits a command line into tokens (runs of spaces separate them). */
export function tokenize(line: string): string[] {
  return line.split(' ').filter((x) => x.length > 0);
}

const error = (reply: string, noreply = false): TextCommand => ({ kind: 'error', reply, noreply });

/** For commands of `min` tokens, or `min + 1` ending in "noreply": the noreply flag, or null
 * when the count is wrong. */
function noreplyOf(t: readonly string[], min: number): boolean | null {
  if (t.length === min) return false;
  if (t.length === min + 1 && t[min] === 'noreply') return true;
  return null;
}

export function parseTextCommand(line: string): TextCommand {
  const t = tokenize(line);
  const cmd = t[0] ?? '';
  switch (cmd) {
    case 'get':
    case 'gets':
      return t.length > 1 ? { kind: 'get', keys: t.slice(1), withCas: cmd === 'gets' } : error(TEXT_ERROR.unknown);
    case 'set':
    case 'add':
    case 'replace':
    case 'append':
    case 'prepend':
    case 'cas':
      return parseStore(cmd, t);
    case 'delete': {
      const noreply = noreplyOf(t, 2);
      if (noreply === null) return error(TEXT_ERROR.unknown);
      return isValidTextKey(t[1]) ? { kind: 'delete', key: t[1], noreply } : error(TEXT_ERROR.badFormat, noreply);
    }
    case 'incr':
    case 'decr': {
      const noreply = noreplyOf(t, 3);
      if (noreply === null) return error(TEXT_ERROR.unknown);
      if (!isValidTextKey(t[1]) || !isNumber(t[2])) return error(TEXT_ERROR.badDelta, noreply);
      return { kind: 'arith', incr: cmd === 'incr', key: t[1], delta: BigInt(t[2]), noreply };
    }
    case 'touch': {
      const noreply = noreplyOf(t, 3);
      if (noreply === null) return error(TEXT_ERROR.unknown);
      if (!isValidTextKey(t[1]) || !isNumber(t[2])) return error(TEXT_ERROR.badFormat, noreply);
      return { kind: 'touch', key: t[1], exptime: Number(t[2]), noreply };
    }
    case 'flush_all': {
      const noreply = t[t.length - 1] === 'noreply';
      const args = noreply ? t.slice(1, -1) : t.slice(1);
      if (args.length > 1 || (args.length === 1 && !isNumber(args[0]))) return error(TEXT_ERROR.badFormat);
      return { kind: 'flush_all', delay: args.length === 1 ? Number(args[0]) : 0, noreply };
    }
    case 'version':
      return { kind: 'version' };
    case 'verbosity': {
      const noreply = noreplyOf(t, 2);
      if (noreply === null) return error(TEXT_ERROR.unknown);
      return isNumber(t[1]) ? { kind: 'verbosity', level: Number(t[1]), noreply } : error(TEXT_ERROR.badFormat, noreply);
    }
    case 'stats':
      return { kind: 'stats', group: t.slice(1).join(' ') };
    case 'quit':
      return { kind: 'quit' };
    case 'refresh_certs':
      return { kind: 'refresh_certs', noreply: t[1] === 'noreply' };
    default:
      return error(TEXT_ERROR.unknown);
  }
}

/** `<cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]`. */
function parseStore(cmd: StoreCommandName, t: readonly string[]): TextCommand {
  const isCas = cmd === 'cas';
  const noreply = noreplyOf(t, isCas ? 6 : 5);
  if (noreply === null) return error(TEXT_ERROR.unknown);
  const key = t[1];
  if (!isValidTextKey(key) || !t.slice(2, isCas ? 6 : 5).every(isNumber)) return error(TEXT_ERROR.badFormat);
  return { kind: 'store', cmd, key, flags: Number(t[2]) >>> 0, exptime: Number(t[3]), bytes: Number(t[4]), cas: isCas ? Number(t[5]) : 0, noreply };
}
