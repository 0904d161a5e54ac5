/**
 * Arrays kept and refilled rather than made anew: a new array grown by pushes reallocates its
 * backing store at every doubling, and `length = 0` gives the store up (V8), so a list refilled
 * per batch is written by index and emptied slot by slot instead.
 */

/** A list grown past this many slots (a burst: a commit that waited on a full disk) is let go
 * when emptied rather than kept at that size for good. */
export const KEEP_SLOTS = 16_384;

/** `a` with its first `used` slots (all, by default) undefined, its length and backing store
 * kept, so it holds nothing; a new empty array instead when `a` is longer than KEEP_SLOTS. */
export function emptied<T>(a: T[], used = a.length): T[] {
  if (a.length > KEEP_SLOTS) return [];
  const slots: Array<T | undefined> = a;
  slots.fill(undefined, 0, used);
  return a;
}
