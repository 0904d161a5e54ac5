/**
 * Before a chunk of pipelined requests is framed: the keys of its whole requests, for the
 * engine to touch all at once (lib/engine/key-prefetch.ts). A lone request gains nothing.
 */
import { RequestKeys, scanRequestKeys } from '../../protocol/request-keys.js';
import type { Engine } from '../engine/engine.js';

/** One event loop: one list, refilled per chunk. */
const keys = new RequestKeys();

/** Framer `ahead` hook: `buf[off, off+len)` starts at a frame. */
export function prefetchRequests(engine: Engine, buf: Buffer, off: number, len: number): void {
  if (scanRequestKeys(buf, off, len, keys) > 1) engine.prefetch(buf, keys);
}
