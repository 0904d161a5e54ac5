/**
 * The resident table's per-entry words (entry-arrays.ts): one array, five words per entry, that
 * grows in place. New entries have no bucket and no record; what was written stays; growth stops
 * at MAX_ENTRIES, which is not a power of two, so doubling must not step past it.
 */
import t from 'tap';
import { ENTRY_WORDS, EntryWords, MAX_ENTRIES, nextCapacity, W_ACCESSED, W_BUCKET, W_LENGTH, W_PLACE, W_STAMP } from '../../lib/engine/entry-arrays.js';

t.test('growth keeps what was written and starts new entries empty', async (t) => {
  const words = new EntryWords(4);
  const w = words.w;
  t.equal(w.length, 4 * ENTRY_WORDS);
  for (let e = 0; e < 4; e++) {
    t.equal(w[e * ENTRY_WORDS + W_BUCKET], -1, `entry ${e}: no bucket`);
    t.equal(w[e * ENTRY_WORDS + W_PLACE], -1, `entry ${e}: no record`);
    t.equal(w[e * ENTRY_WORDS + W_LENGTH], 0);
  }
  for (let e = 0; e < 4; e++) {
    w[e * ENTRY_WORDS + W_BUCKET] = 100 + e;
    w[e * ENTRY_WORDS + W_PLACE] = 200 + e;
    w[e * ENTRY_WORDS + W_LENGTH] = 300 + e;
    w[e * ENTRY_WORDS + W_STAMP] = 0xfffffff0 + e; // unsigned, stored as int32
    w[e * ENTRY_WORDS + W_ACCESSED] = (1 << 31) | e;
  }
  words.grow(10);
  t.equal(words.w, w, 'the same array object');
  t.equal(w.length, 10 * ENTRY_WORDS, 'the array tracks the grown buffer');
  for (let e = 0; e < 4; e++) {
    t.equal(w[e * ENTRY_WORDS + W_BUCKET], 100 + e);
    t.equal(w[e * ENTRY_WORDS + W_PLACE], 200 + e);
    t.equal(w[e * ENTRY_WORDS + W_LENGTH], 300 + e);
    t.equal(w[e * ENTRY_WORDS + W_STAMP] >>> 0, 0xfffffff0 + e);
    t.equal(w[e * ENTRY_WORDS + W_ACCESSED] & 0xff, e);
  }
  for (let e = 4; e < 10; e++) t.same([w[e * ENTRY_WORDS + W_BUCKET], w[e * ENTRY_WORDS + W_PLACE], w[e * ENTRY_WORDS + W_STAMP], w[e * ENTRY_WORDS + W_ACCESSED]], [-1, -1, 0, 0], `new entry ${e}`);
  words.grow(8);
  t.equal(w.length, 10 * ENTRY_WORDS, 'never shrinks');
  words.fill(W_BUCKET, -1);
  t.equal(w[2 * ENTRY_WORDS + W_BUCKET], -1, 'fill sets one word of every entry');
  t.equal(w[2 * ENTRY_WORDS + W_PLACE], 202, 'and leaves the others');
});

t.test('capacity doubles up to MAX_ENTRIES and no further', async (t) => {
  t.equal(MAX_ENTRIES, 214_748_364, '4 GiB of 20-byte entries');
  t.equal(nextCapacity(1024), 2048);
  let c = 1024;
  while (c < MAX_ENTRIES) c = nextCapacity(c);
  t.equal(c, MAX_ENTRIES, 'doubling from 1024 lands on the limit, not past it');
  t.equal(nextCapacity(2 ** 27), MAX_ENTRIES);
  t.throws(() => new EntryWords(4).grow(MAX_ENTRIES + 1), RangeError, 'past the limit: a RangeError, not a resize');
});
