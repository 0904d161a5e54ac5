/**
 * The resident item table on its own: byte accounting, oldest-first ejection of clean entries
 * under the quota, dirty (pinned) entries never ejected, per-vBucket drop, and a quota of 0
 * keeping only dirty entries.
 */
import t from 'tap';
import { ItemCache } from '../../lib/engine/item-cache.js';

const key = (vbid: number, k: string): string => String.fromCharCode(vbid >> 8, vbid & 0xff) + k;
const rec = (n: number): Buffer => Buffer.alloc(n, 0x61);

t.test('put, get, replace and delete keep the byte count exact', async (t) => {
  const c = new ItemCache(1 << 20);
  c.putClean(key(0, 'a'), rec(100));
  c.putClean(key(0, 'b'), rec(50));
  const afterTwo = c.bytes;
  t.equal(c.items, 2);
  c.putClean(key(0, 'a'), rec(10));
  t.equal(c.bytes, afterTwo - 90, 'replacing counts the new record only');
  t.equal(c.get(key(0, 'a'))?.length, 10);
  c.delete(key(0, 'a'));
  c.delete(key(0, 'b'));
  c.delete(key(0, 'never'));
  t.equal(c.bytes, 0);
  t.equal(c.items, 0);
  t.equal(c.get(key(0, 'a')), undefined);
  t.equal(c.hits, 1);
  t.equal(c.misses, 1);
});

t.test('over the quota the oldest entries are ejected, never the newest', async (t) => {
  const c = new ItemCache(10_000);
  for (let i = 0; i < 200; i++) c.putClean(key(0, `k${i}`), rec(100));
  t.ok(c.bytes <= 10_000, `bytes ${c.bytes} within the quota`);
  t.ok(c.ejections > 0, 'something was ejected');
  t.equal(c.items + c.ejections, 200, 'every entry is either kept or counted as ejected');
  t.ok(c.get(key(0, 'k199')), 'the newest stays');
  t.equal(c.get(key(0, 'k0')), undefined, 'the oldest went first');
  c.putClean(key(0, 'huge'), rec(20_000));
  t.equal(c.get(key(0, 'huge')), undefined, 'a record larger than the whole quota is not kept');
  t.ok(c.get(key(0, 'k199')), 'and did not push anything out');
});

t.test('dropVBucket forgets exactly that vBucket', async (t) => {
  const c = new ItemCache(1 << 20);
  for (const vb of [0, 1, 258]) for (let i = 0; i < 10; i++) c.putClean(key(vb, `k${i}`), rec(10));
  c.dropVBucket(1);
  t.equal(c.items, 20);
  t.equal(c.get(key(1, 'k3')), undefined);
  t.ok(c.get(key(0, 'k3')));
  t.ok(c.get(key(258, 'k3')), 'vBucket 258 (0x0102) is not 1');
  c.clear();
  t.equal(c.items, 0);
  t.equal(c.bytes, 0);
});

/** A table whose pinned keys are those written and not yet committed, as in the engine. */
function withWrites(quota: number): { c: ItemCache; write(k: string, n: number): void; commit(k: string): void } {
  const dirty = new Set<string>();
  const c = new ItemCache(quota, (k) => dirty.has(k));
  return {
    c,
    write: (k, n) => {
      dirty.add(k);
      c.putDirty(k, rec(n));
    },
    commit: (k) => {
      dirty.delete(k);
      c.settle(k);
    },
  };
}

t.test('a quota of 0 keeps only dirty entries, until they settle', async (t) => {
  const { c, write, commit } = withWrites(0);
  c.putClean(key(0, 'a'), rec(1));
  t.equal(c.items, 0, 'nothing read from disk is kept');
  write(key(0, 'w'), 1);
  t.ok(c.get(key(0, 'w')), 'an uncommitted write is kept whatever the quota');
  commit(key(0, 'w'));
  t.equal(c.items, 0, 'once committed it goes');
  t.equal(c.bytes, 0);
});

t.test('dirty entries are never ejected, however old', async (t) => {
  const { c, write } = withWrites(5_000);
  for (let i = 0; i < 10; i++) write(key(0, `d${i}`), 100);
  for (let i = 0; i < 200; i++) c.putClean(key(0, `c${i}`), rec(100));
  for (let i = 0; i < 10; i++) t.ok(c.peek(key(0, `d${i}`)), `dirty d${i} still there`);
  t.ok(c.ejections > 0, 'clean entries made room');
  t.equal(c.peek(key(0, 'c0')), undefined, 'the oldest clean entry went');
});

t.test('a burst of uncommitted writes over the quota stays, and the quota holds again once they commit', async (t) => {
  const { c, write, commit } = withWrites(5_000);
  for (let i = 0; i < 1000; i++) write(key(0, `w${i}`), 100);
  t.equal(c.items, 1000, 'every uncommitted write is kept, over the quota');
  t.equal(c.ejections, 0);
  for (let i = 0; i < 1000; i++) commit(key(0, `w${i}`));
  c.putClean(key(0, 'after'), rec(100));
  t.ok(c.bytes <= 5_000, `back within the quota (${c.bytes} bytes) once committed`);
  t.ok(c.peek(key(0, 'after')), 'the newest entry stays');
});
