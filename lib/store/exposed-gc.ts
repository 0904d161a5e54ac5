/**
 * V8's `gc` function, for the event loop's idle collection.
 * V8 exposes it only behind --expose-gc: the flag is set (process-wide, so from any thread) and
 * the function taken from a fresh context, since contexts made before the flag lack it. Null if
 * this V8 refuses.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full collection (`major`) or only the young generation's (`minor`, a scavenge). */
export type CollectionType = 'major' | 'minor';

export function exposedGc(type: CollectionType = 'major'): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    if (typeof gc !== 'function') return null;
    const collect = gc as (options?: { type: CollectionType }) => void;
    // A major one as `gc()` with no options, as the idle collection always called it.
    return type === 'major' ? () => collect() : () => collect({ type });
  } catch {
    return null;
  }
}
