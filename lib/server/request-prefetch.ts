/**
 * Before a chunk of pipelined requests is framed: the keys of its whole requests, for the
 * engine to touch all at once (lib/engine/key-prefetch.ts). A lone request gains nothing.
 */
import { RequestKeys, scanRequestKeys } from '../../protocol/request-keys.js';
import type { FrameSink } from '../../protocol/framer.js';
import type { Engine } from '../engine/engine.js';

/** One event loop: one list, refilled per chunk; and one that stays empty. */
const keys = new RequestKeys();
const none = new RequestKeys();
const EMPTY = new Uint8Array(0);

/** A connection framer's `ahead` and `behind` hooks: the keys of a chunk from a frame
 * boundary go to the engine to touch, and it lets them go once the chunk is framed. */
export function prefetchHooks(engine: Engine): Required<Pick<FrameSink, 'ahead' | 'behind'>> {
  return {
    ahead: (buf, off, len) => {
      if (scanRequestKeys(buf, off, len, keys) > 1) engine.prefetch(buf, keys);
    },
    behind: () => engine.prefetch(EMPTY, none),
  };
}
