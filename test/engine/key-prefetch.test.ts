/**
 * Touching a chunk's keys ahead (key-prefetch.ts): the item-key hash made without building the
 * item key agrees with the table's, the guessed entries are the keys' own (or -1, never another
 * key's when the hash differs), and a prefetch changes nothing the table reports.
 */
import t from 'tap';
import { BucketTable } from '../../lib/engine/bucket-table.js';
import { ItemCache } from '../../lib/engine/item-cache.js';
import { hashBytes, hashItemKey, hashString } from '../../lib/engine/key-hash.js';
import { encodeItemKey } from '../../lib/store/key-codec.js';
import { RequestKeys } from '../../protocol/request-keys.js';

const itemKeyOf = (vbid: number, key: Uint8Array): Buffer => encodeItemKey(vbid, key, 0, key.length);

t.test('hashItemKey is hashBytes of the item key', async (t) => {
  for (const vbid of [0, 1, 255, 256, 700, 1023, 65535]) {
    for (const key of ['', 'a', 'memtier-123456', 'k'.repeat(250)]) {
      const client = Buffer.from(key, 'latin1');
      const padded = Buffer.concat([Buffer.from('xyz'), client]);
      const itemKey = encodeItemKey(vbid, client, 0, client.length);
      t.equal(hashItemKey(vbid, padded, 3, client.length), hashBytes(itemKey, 0, itemKey.length), `vb ${vbid}, ${key.length}-byte key`);
      t.equal(hashString(itemKey.toString('latin1')), hashBytes(itemKey, 0, itemKey.length));
    }
  }
});

t.test("touchHomes guesses each present key's entry, and -1 for absent ones", async (t) => {
  const n = 20_000;
  const table = new BucketTable(n);
  const keys = Array.from({ length: n }, (_, i) => `key:${i * 7919}`);
  keys.forEach((key, e) => table.add(table.lookup(key), e, key, 0));
  const hashes = new Int32Array(32);
  const entries = new Int32Array(32);
  let right = 0;
  let wrong = 0;
  for (let from = 0; from < n; from += 32) {
    const m = Math.min(32, n - from);
    for (let i = 0; i < m; i++) hashes[i] = hashString(keys[from + i]);
    table.touchHomes(hashes, m, entries);
    for (let i = 0; i < m; i++) {
      if (entries[i] === from + i) right++;
      else if (entries[i] !== -1) wrong++;
    }
  }
  t.equal(wrong, 0, 'never another entry');
  t.ok(right > n * 0.95, `most keys found near home (${right} of ${n})`);
  for (let i = 0; i < 32; i++) hashes[i] = hashString(`absent:${i}`);
  table.touchHomes(hashes, 32, entries);
  t.same([...entries].filter((e) => e !== -1), [], 'absent keys: -1');
});

t.test('a prefetch changes nothing the resident table reports', async (t) => {
  const cache = new ItemCache(64 * 1024 * 1024);
  const record = Buffer.alloc(136, 7);
  for (let i = 0; i < 1000; i++) cache.putClean(itemKeyOf(i % 4, Buffer.from(`k${i}`)).toString('latin1'), record);
  const chunk = Buffer.from(Array.from({ length: 32 }, (_, i) => `k${i * 31}`).join(''), 'latin1');
  const keys = new RequestKeys();
  let at = 0;
  for (let i = 0; i < 32; i++) {
    const key = `k${i * 31}`;
    keys.vbid[i] = (i * 31) % 4;
    keys.offset[i] = at;
    keys.length[i] = key.length;
    at += key.length;
  }
  keys.count = 32;
  const before = [cache.hits, cache.misses, cache.bytes, cache.items, cache.access(itemKeyOf(0, Buffer.from('k0')), 0, 4)];
  cache.prefetcher.run(chunk, keys);
  t.same([cache.hits, cache.misses, cache.bytes, cache.items, cache.access(itemKeyOf(0, Buffer.from('k0')), 0, 4)], before);
  // And the keys it touched are all there, as a read finds them.
  for (let i = 0; i < 32; i++) {
    const itemKey = itemKeyOf(keys.vbid[i], chunk.subarray(keys.offset[i], keys.offset[i] + keys.length[i]));
    t.ok(cache.get(itemKey, 0, itemKey.length)?.equals(record), `k${i * 31}`);
  }
});

t.test("a lookup takes a prefetched key's hash only while its chunk is framed, and only for that key", async (t) => {
  const cache = new ItemCache(64 * 1024 * 1024);
  const record = Buffer.alloc(136, 7);
  const long = 'L'.repeat(40);
  for (const [vbid, k] of [[3, 'alpha'], [3, long], [4, 'beta'], [3, 'gamma']] as const) cache.putClean(itemKeyOf(vbid, Buffer.from(k, 'latin1')).toString('latin1'), record);
  const loc = { buf: Buffer.alloc(0), offset: 0, length: 0, data: null };
  const chunk = Buffer.from(`alpha${long}beta`, 'latin1');
  const keys = new RequestKeys();
  [[3, 0, 5], [3, 5, long.length], [4, 5 + long.length, 4]].forEach(([vbid, offset, length], i) => {
    keys.vbid[i] = vbid;
    keys.offset[i] = offset;
    keys.length[i] = length;
  });
  keys.count = 3;
  cache.prefetcher.run(chunk, keys);
  t.equal(cache.prefetcher.hashOf(3, chunk, 0, 5), hashItemKey(3, chunk, 0, 5), "the chunk's first key");
  t.ok(cache.locate(3, chunk, 0, 5, true, loc) >= 0, 'found by its prefetched hash');
  t.ok(cache.locate(3, chunk, 5, long.length, true, loc) >= 0, 'a long key too');
  t.equal(cache.locate(5, chunk, 5 + long.length, 4, true, loc), -1, 'not in a vBucket it was not asked in');
  t.ok(cache.locate(4, chunk, 5 + long.length, 4, true, loc) >= 0, 'the last key');
  t.equal(cache.prefetcher.hashOf(3, chunk, 0, 4), hashItemKey(3, chunk, 0, 4), 'a length the chunk did not have: hashed');
  // The same buffer rewritten in place (a reused read buffer) once its chunk is framed: another
  // key of the same length where 'alpha' was, in the same vBucket.
  cache.prefetcher.run(new Uint8Array(0), new RequestKeys());
  chunk.write('gamma', 0, 'latin1');
  t.ok(cache.locate(3, chunk, 0, 5, true, loc) >= 0, "the new bytes are hashed, not 'alpha's hash taken");
  t.equal(cache.prefetcher.hashOf(3, chunk, 0, 5), hashItemKey(3, chunk, 0, 5));
});
