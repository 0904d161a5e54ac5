/**
 * A vBucket's uncommitted writes (lib/engine/pending-writes.ts), kept in one array refilled
 * from the start: commits remove the oldest, a list emptied and refilled holds only the new
 * writes, the front is moved out after many commits, and `between` answers from what is held.
 */
import t from 'tap';
import { PendingWrites } from '../../lib/engine/pending-writes.js';

interface W {
  seqno: number;
  key: string;
}

const w = (seqno: number, key = `k${seqno}`): W => ({ seqno, key });
const keyOf = (x: W): string => x.key;

t.test('commits remove the oldest; an emptied list refills with the new writes only', async (t) => {
  const list = new PendingWrites<W>();
  const a = w(1);
  const b = w(2);
  list.push(a);
  list.push(b);
  t.equal(list.size, 2);
  t.equal(list.newest(), b);
  list.committed(b);
  t.equal(list.size, 2, 'a write that is not the oldest does not leave');
  list.committed(a);
  list.committed(b);
  t.equal(list.size, 0);
  t.equal(list.newest(), undefined);
  const c = w(3);
  list.push(c);
  t.equal(list.size, 1);
  t.equal(list.newest(), c);
  t.same(list.between(0, 10, keyOf), [c], 'nothing of the first fill is left');
  list.committed(a);
  t.equal(list.size, 1, 'committing a write already gone changes nothing');
});

t.test('after thousands of commits the front moves out and the order holds', async (t) => {
  const list = new PendingWrites<W>();
  const writes: W[] = [];
  for (let i = 1; i <= 5000; i++) {
    writes.push(w(i));
    list.push(writes[i - 1]);
  }
  // Commit the oldest 3000 while new writes arrive: the list compacts on the way.
  for (let i = 0; i < 3000; i++) {
    list.committed(writes[i]);
    if (i % 3 === 0) {
      const n = w(5001 + i / 3);
      writes.push(n);
      list.push(n);
    }
  }
  t.equal(list.size, writes.length - 3000);
  t.equal(list.newest(), writes[writes.length - 1]);
  const held = list.between(0, Number.MAX_SAFE_INTEGER, keyOf);
  t.same(held.map((x) => x.seqno), writes.slice(3000).map((x) => x.seqno), 'every uncommitted write, oldest first');
  for (let i = 3000; i < writes.length; i++) list.committed(writes[i]);
  t.equal(list.size, 0);
  list.push(w(99_999));
  t.same(list.between(0, Number.MAX_SAFE_INTEGER, keyOf).map((x) => x.seqno), [99_999]);
});

t.test('between keeps each key newest write in the range, in seqno order', async (t) => {
  const list = new PendingWrites<W>();
  for (const x of [w(1, 'a'), w(2, 'b'), w(3, 'a'), w(4, 'c'), w(5, 'b')]) list.push(x);
  t.same(list.between(1, 4, keyOf).map((x) => `${x.key}${x.seqno}`), ['b2', 'a3', 'c4']);
  t.same(list.between(0, 5, keyOf).map((x) => `${x.key}${x.seqno}`), ['a3', 'c4', 'b5']);
  list.clear();
  t.equal(list.size, 0);
  t.same(list.between(0, 5, keyOf), []);
});
