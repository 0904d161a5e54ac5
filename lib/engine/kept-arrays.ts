/**
 * Arrays kept and refilled rather than made anew: a new array grown by pushes reallocates its
 * backing store at every doubling, and `length = 0` gives the store up (V8), so a list refilled
 * per batch is written by index and emptied slot by slot instead.
 */

/** `a` with its first `used` slots (all, by default) undefined, its length and backing store
 * kept, so it holds nothing. */
export function emptied<T>(a: T[], used = a.length): T[] {
  const slots: Array<T | undefined> = a;
  slots.fill(undefined, 0, used);
  return a;
}
