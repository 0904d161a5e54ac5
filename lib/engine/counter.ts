/**
 * INCREMENT/DECREMENT arithmetic on item values, with memcached's rules: a value is a counter
 * when it reads as an unsigned 64-bit decimal; increments wrap at 2^64, decrements stop at 0.
 */

export const U64_MAX = (1n << 64n) - 1n;

/** memcached's safe_strtoull on a value: optional leading spaces, digits, then the end or
 * whitespace; anything else (or a value over 2^64-1) is not a number. */
export function parseCounter(rec: Buffer, from: number): bigint | null {
  let i = from;
  const end = rec.length;
  while (i < end && isSpace(rec[i])) i++;
  const digitsStart = i;
  while (i < end && rec[i] >= 0x30 && rec[i] <= 0x39) i++;
  if (i === digitsStart) return null;
  if (i < end && !isSpace(rec[i])) return null;
  if (i - digitsStart > 20) return null;
  const n = BigInt(rec.toString('latin1', digitsStart, i));
  return n > U64_MAX ? null : n;
}

export function applyDelta(current: bigint, delta: bigint, incr: boolean): bigint {
  if (incr) return (current + delta) & U64_MAX;
  return delta > current ? 0n : current - delta;
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
