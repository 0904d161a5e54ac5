/**
 * The keys of the whole requests at the front of a received chunk, found before any is framed:
 * where each lies and its vBucket, no more. The server uses them to touch the memory each
 * request is about to read, all of a chunk's keys at once (lib/engine/key-prefetch.ts).
 */
import { u16be, u32be } from './bytes.js';
import { HEADER_LENGTH, MAGIC_REQUEST, OFFSET } from './header.js';

/** Most keys noted per chunk: a pipelined client's batch, small enough that what the first
 * one touches is still in cache when its request runs. */
export const MOST_REQUEST_KEYS = 32;

export class RequestKeys {
  count = 0;
  readonly vbid = new Int32Array(MOST_REQUEST_KEYS);
  readonly offset = new Int32Array(MOST_REQUEST_KEYS);
  readonly length = new Int32Array(MOST_REQUEST_KEYS);
}

/** Notes in `keys` the keys of the whole requests in `buf[off, off+len)`, up to
 * MOST_REQUEST_KEYS; stops at the first partial frame or anything not a plain request (the
 * framer judges those). Returns the count. */
export function scanRequestKeys(buf: Uint8Array, off: number, len: number, keys: RequestKeys): number {
  const end = off + len;
  let n = 0;
  for (let at = off; end - at >= HEADER_LENGTH && n < MOST_REQUEST_KEYS; ) {
    if (buf[at] !== MAGIC_REQUEST) break;
    const keyLength = u16be(buf, at + OFFSET.keyLength);
    const extras = buf[at + OFFSET.extrasLength];
    const body = u32be(buf, at + OFFSET.bodyLength);
    if (keyLength + extras > body || end - at < HEADER_LENGTH + body) break;
    if (keyLength > 0) {
      keys.vbid[n] = u16be(buf, at + OFFSET.vbucketOrStatus);
      keys.offset[n] = at + HEADER_LENGTH + extras;
      keys.length[n] = keyLength;
      n++;
    }
    at += HEADER_LENGTH + body;
  }
  keys.count = n;
  return n;
}
