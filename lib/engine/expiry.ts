/**
 * memcached's expiry rules: 0 never expires; up to 30 days is relative to now; anything larger
 * is an absolute Unix time (one in the past expires at once).
 */

export const RELATIVE_EXPIRY_LIMIT = 60 * 60 * 24 * 30;

/** Current Unix time in seconds. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Converts a client's expiry to the absolute Unix second the item dies at (0 = never). */
export function absoluteExpiry(exptime: number, now: number): number {
  if (exptime === 0) return 0;
  if (exptime > RELATIVE_EXPIRY_LIMIT) return exptime <= now ? 1 : exptime;
  return now + exptime;
}

/** absoluteExpiry from now, without reading the clock for an item that never expires (most
 * SETs). */
export function expiryFromNow(exptime: number): number {
  return exptime === 0 ? 0 : absoluteExpiry(exptime, nowSeconds());
}

export function isExpired(expiry: number, now: number): boolean {
  return expiry !== 0 && expiry <= now;
}
