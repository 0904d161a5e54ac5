/**
 * memcached's uriencode, used for keys in its dump and log lines: every byte but letters,
 * digits and -._~ becomes %XX (upper-case hex).
 */
const SAFE = /^[A-Za-z0-9._~-]*$/;
const SAFE_BYTE = /[A-Za-z0-9._~-]/;

export function uriEncode(key: Uint8Array): string {
  const s = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
  if (SAFE.test(s)) return s;
  let out = '';
  for (const b of key) {
    const c = String.fromCharCode(b);
    out += SAFE_BYTE.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
