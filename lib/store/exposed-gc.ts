/**
 * V8's `gc` function, for the event loop's idle collection (a full one).
 * V8 exposes it only behind --expose-gc: the flag is set (process-wide, so from any thread) and
 * the function taken from a fresh context, since contexts made before the flag lack it. Null if
 * this V8 refuses.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function exposedGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    if (typeof gc !== 'function') return null;
    const collect = gc as () => void;
    return () => collect();
  } catch {
    return null;
  }
}
