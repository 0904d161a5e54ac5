/**
 * lib/engine/kept-arrays.ts: an emptied list is the same array, holding nothing, unless a burst
 * grew it past KEEP_SLOTS, when a new one takes its place.
 */
import t from 'tap';
import { emptied, KEEP_SLOTS } from '../../lib/engine/kept-arrays.js';

t.test('an emptied list is kept, its slots cleared', async (t) => {
  const held = [{ a: 1 }, { a: 2 }, { a: 3 }];
  const out = emptied(held);
  t.equal(out, held, 'the same array');
  t.equal(out.length, 3, 'its length kept for refilling by index');
  t.same([...out], [undefined, undefined, undefined], 'nothing held');
});

t.test('only the used slots are cleared', async (t) => {
  const list = ['x', 'y', 'z'];
  t.same([...emptied(list, 2)], [undefined, undefined, 'z']);
});

t.test('a list grown past KEEP_SLOTS is let go', async (t) => {
  const burst = new Array<number>(KEEP_SLOTS + 1).fill(7);
  const out = emptied(burst);
  t.not(out, burst, 'a new array');
  t.equal(out.length, 0);
  const atCap = new Array<number>(KEEP_SLOTS).fill(7);
  t.equal(emptied(atCap), atCap, 'one at the cap is kept');
});
