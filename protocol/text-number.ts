/**
 * Numbers in text command lines, read as memcached 1.6.18 reads them (its safe_strto* helpers
 * over C's strtol family on a 64-bit machine): optional leading whitespace and sign, decimal
 * digits, and then the end of the token or whitespace (a token can hold a tab: only spaces
 * separate tokens). Out of the 64-bit range is an error. The 32-bit readers keep the low 32
 * bits of what they read, as memcached's casts do; a minus sign is refused by the unsigned
 * readers only when the 64-bit value would be negative (so "-0" is 0).
 */

const NUMBER = /^[ \t\n\v\f\r]*([+-]?)(\d+)(?:[ \t\n\v\f\r].*)?$/s;
const U64 = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;

/** strtoull/strtoll's view of a token: sign and magnitude, or null when it is not a number. */
function scan(token: string): { negative: boolean; magnitude: bigint } | null {
  const m = NUMBER.exec(token);
  if (m === null) return null;
  return { negative: m[1] === '-', magnitude: BigInt(m[2]) };
}

/** safe_strtoull: a u64, or null. */
export function parseU64(token: string): bigint | null {
  const n = scan(token);
  if (n === null || n.magnitude > U64) return null;
  // strtoull negates a "-" number into two's complement; memcached refuses it only when the
  // result is negative as a signed number.
  const value = n.negative ? (U64 + 1n - n.magnitude) & U64 : n.magnitude;
  if (n.negative && n.magnitude !== 0n && value > I64_MAX) return null;
  return value;
}

/** safe_strtoll: an i64, or null. */
export function parseI64(token: string): bigint | null {
  const n = scan(token);
  if (n === null) return null;
  const value = n.negative ? -n.magnitude : n.magnitude;
  if (value > I64_MAX || value < -(I64_MAX + 1n)) return null;
  return value;
}

/** safe_strtoul: a u32 (the low 32 bits of the u64 read), or null. */
export function parseU32(token: string): number | null {
  const v = parseU64(token);
  return v === null ? null : Number(v & 0xffffffffn);
}

/** safe_strtol: an i32 (the low 32 bits of the i64 read, as a signed number), or null. */
export function parseI32(token: string): number | null {
  const v = parseI64(token);
  return v === null ? null : Number(BigInt.asIntN(32, v));
}

const DOUBLE = /^[ \t\n\v\f\r]*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan|0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?\d+)?)(?:[ \t\n\v\f\r].*)?$/is;

/** safe_strtod: whether strtod reads the token whole as a number (decimal, hex, inf, nan);
 * the value itself, or null. */
export function parseDouble(token: string): number | null {
  if (!DOUBLE.test(token)) return null;
  const t = token.trim().toLowerCase();
  const negative = t.startsWith('-');
  const body = t.replace(/^[+-]/, '').split(/[ \t\n\v\f\r]/)[0];
  let v: number;
  if (body.startsWith('inf')) v = Infinity;
  else if (body === 'nan') v = NaN;
  else if (body.startsWith('0x')) {
    const [mant, exp] = body.slice(2).split('p');
    const [int, frac = ''] = mant.split('.');
    v = (parseInt(int || '0', 16) + (frac === '' ? 0 : parseInt(frac, 16) / 16 ** frac.length)) * 2 ** Number(exp ?? 0);
  } else v = Number(body);
  // strtod sets ERANGE on overflow: memcached refuses it.
  if (!Number.isFinite(v) && !body.startsWith('inf') && body !== 'nan') return null;
  return negative ? -v : v;
}
