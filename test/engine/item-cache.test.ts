/**
 * The resident item table on its own: byte accounting, ejection of clean entries under the
 * quota (CLOCK: entries read since the hand last passed are spared once), dirty (pinned) entries
 * never ejected, per-vBucket drop, a quota of 0 keeping only dirty entries, and the open-addressing
 * table agreeing with a plain Map through a long random run of inserts, replaces and removals.
 */
import t from 'tap';
import { ENTRY_OVERHEAD, ItemCache, LONG_KEY_OVERHEAD, hashString } from '../../lib/engine/item-cache.js';
import { INLINE_KEY_MAX } from '../../lib/engine/bucket-layout.js';
import type { RecordLocation } from '../../lib/engine/entry-records.js';

const key = (vbid: number, k: string): string => String.fromCharCode(vbid >> 8, vbid & 0xff) + k;
const rec = (n: number): Buffer => Buffer.alloc(n, 0x61);

/** A write as the engine makes it, its key given as bytes. */
function putDirty(c: ItemCache, stored: string, record: Buffer, hint = -1): number {
  const bytes = Buffer.from(stored, 'latin1');
  return c.putDirtyKey(bytes, 0, bytes.length, record, hint);
}

/** A lookup as the engine makes it: the key's bytes inside a larger buffer, at an offset. */
function get(c: ItemCache, stored: string): Buffer | undefined {
  const bytes = Buffer.from(`xyz${stored}`, 'latin1');
  return c.get(bytes, 3, bytes.length - 3);
}

t.test('put, get, replace and delete keep the byte count exact', async (t) => {
  const c = new ItemCache(1 << 20);
  c.putClean(key(0, 'a'), rec(100));
  c.putClean(key(0, 'b'), rec(50));
  const afterTwo = c.bytes;
  t.equal(c.items, 2);
  c.putClean(key(0, 'a'), rec(10));
  t.equal(c.bytes, afterTwo - 90, 'replacing counts the new record only');
  t.equal(get(c, key(0, 'a'))?.length, 10);
  c.delete(key(0, 'a'));
  c.delete(key(0, 'b'));
  c.delete(key(0, 'never'));
  t.equal(c.bytes, 0);
  t.equal(c.items, 0);
  t.equal(get(c, key(0, 'a')), undefined);
  t.equal(c.hits, 1);
  t.equal(c.misses, 1);
});

t.test('keys inside a bucket and longer ones (up to 250 bytes) are found by their bytes', async (t) => {
  const c = new ItemCache(1 << 20);
  for (const len of [1, 17, 18, 19, 20, 21, 45, 46, 47, 48, 100, 250]) {
    const name = 'q'.repeat(len);
    c.putClean(key(3, name), rec(len));
    t.equal(get(c, key(3, name))?.length, len, `a ${len}-byte key`);
    t.equal(get(c, key(3, `${name.slice(1)}r`)), undefined, `the same length, last byte different (${len})`);
  }
});

/** Two different stored keys of one length whose hashes are equal (a birthday search). */
function collidingPair(prefix: string): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const k = key(0, `${prefix}${String(i).padStart(7, '0')}`);
    const h = hashString(k);
    const other = seen.get(h);
    if (other !== undefined) return [other, k];
    seen.set(h, k);
  }
}

t.test('keys with equal hashes are told apart by their bytes, inside a bucket or not', async (t) => {
  for (const prefix of ['c', 'long-'.padEnd(50, 'x')]) {
    const [a, b] = collidingPair(prefix);
    t.equal(hashString(a), hashString(b), `${a.length - 2}-byte keys ${JSON.stringify(a.slice(-7))} and ${JSON.stringify(b.slice(-7))} collide`);
    const c = new ItemCache(1 << 20);
    c.putClean(a, rec(1));
    t.equal(get(c, b), undefined, 'the other key is not found');
    t.equal(c.peek(b), undefined);
    c.putClean(b, rec(2));
    t.equal(get(c, a)?.length, 1, 'each finds its own record');
    t.equal(get(c, b)?.length, 2);
    c.delete(a);
    t.equal(get(c, b)?.length, 2, 'removing one leaves the other');
  }
});

t.test('a key is its vBucket and its exact bytes', async (t) => {
  const c = new ItemCache(1 << 20);
  c.putClean(key(1, 'k'), rec(1));
  c.putClean(key(0, 'k\u00ff'), rec(2));
  t.equal(get(c, key(0, 'k')), undefined, 'same bytes, other vBucket');
  t.equal(get(c, key(1, 'k\u0000')), undefined, 'a longer key is another key');
  t.equal(get(c, key(1, 'k'))?.length, 1);
  t.equal(get(c, key(0, 'k\u00ff'))?.length, 2, 'bytes above 0x7f compare as bytes');
  t.equal(c.peek(key(0, 'k\u00ff'))?.length, 2, 'peek finds the stored key form');
});

t.test('over the quota the oldest unread entries are ejected, never the newest', async (t) => {
  const c = new ItemCache(10_000);
  for (let i = 0; i < 200; i++) c.putClean(key(0, `k${i}`), rec(100));
  t.ok(c.bytes <= 10_000, `bytes ${c.bytes} within the quota`);
  t.ok(c.ejections > 0, 'something was ejected');
  t.equal(c.items + c.ejections, 200, 'every entry is either kept or counted as ejected');
  t.ok(c.peek(key(0, 'k199')), 'the newest stays');
  t.equal(c.peek(key(0, 'k0')), undefined, 'the oldest went first');
  c.putClean(key(0, 'huge'), rec(20_000));
  t.equal(c.peek(key(0, 'huge')), undefined, 'a record larger than the whole quota is not kept');
  t.ok(c.peek(key(0, 'k199')), 'and did not push anything out');
});

t.test('an entry read since the hand last passed is spared (second chance)', async (t) => {
  const name = (i: number): string => key(0, `k${String(i).padStart(2, '0')}`);
  const c = new ItemCache(20 * (name(0).length + 100 + ENTRY_OVERHEAD));
  for (let i = 0; i < 20; i++) c.putClean(name(i), rec(100));
  t.equal(c.ejections, 0, 'exactly at the quota');
  t.ok(get(c, name(0)), 'k00 is read');
  c.putClean(key(0, 'n0'), rec(100));
  t.ok(c.peek(name(0)), 'the read entry stayed although it was the oldest');
  t.equal(c.peek(name(1)), undefined, 'the oldest unread one went instead');
  t.equal(c.ejections, 1);
});

t.test('dropPrefix forgets exactly the keys of that vBucket', async (t) => {
  const c = new ItemCache(1 << 20);
  for (const vb of [0, 1, 258]) for (let i = 0; i < 10; i++) c.putClean(key(vb, `k${i}`), rec(10));
  c.dropPrefix(key(1, ''));
  t.equal(c.items, 20);
  t.equal(get(c, key(1, 'k3')), undefined);
  t.ok(get(c, key(0, 'k3')));
  t.ok(get(c, key(258, 'k3')), 'vBucket 258 (0x0102) is not 1');
  c.clear();
  t.equal(c.items, 0);
  t.equal(c.bytes, 0);
  c.putClean(key(0, 'again'), rec(10));
  t.ok(get(c, key(0, 'again')), 'usable after clear');
});

t.test('a burst of writes over the quota is ejected down to it as the writes commit', async (t) => {
  const name = (i: number): string => key(0, `b${String(i).padStart(3, '0')}`);
  const quota = 20 * (name(0).length + 100 + ENTRY_OVERHEAD);
  const c = new ItemCache(quota);
  const writes = Array.from({ length: 200 }, (_, i) => {
    const e = putDirty(c, name(i), rec(100));
    return { e, stamp: c.stampOf(e) };
  });
  t.ok(c.bytes > quota, 'uncommitted writes stay resident beyond the quota');
  writes.forEach((w) => c.settle(w.e, w.stamp, true));
  t.ok(c.bytes <= quota, `${c.bytes} bytes within the quota of ${quota} once committed, with no insert after`);
  t.ok(c.ejections >= 180);
});

/** A write as the engine notes it: its entry and its stamp there. */
interface Written {
  e: number;
  stamp: number;
  record: Buffer;
}

function putWrite(c: ItemCache, k: string, record: Buffer): Written {
  const e = putDirty(c, k, record);
  return { e, stamp: c.stampOf(e), record };
}

/** A table fed as the engine feeds it: writes pinned until they are applied. */
function withWrites(quota: number): { c: ItemCache; write(k: string, n: number): Written; commit(w: Written): void } {
  const c = new ItemCache(quota);
  return {
    c,
    write: (k, n) => putWrite(c, k, rec(n)),
    commit: (w) => c.settle(w.e, w.stamp, true),
  };
}

t.test('a quota of 0 keeps only dirty entries, until they settle', async (t) => {
  const { c, write, commit } = withWrites(0);
  c.putClean(key(0, 'a'), rec(1));
  t.equal(c.items, 0, 'nothing read from disk is kept');
  const r = write(key(0, 'w'), 1);
  t.ok(get(c, key(0, 'w')), 'an uncommitted write is kept whatever the quota');
  commit(r);
  t.equal(c.items, 0, 'once committed it goes');
  t.equal(c.bytes, 0);
});

t.test('settling an older record leaves a newer write pinned; a tombstone settles away', async (t) => {
  const { c, write, commit } = withWrites(0);
  const first = write(key(0, 'k'), 5);
  const second = write(key(0, 'k'), 6);
  commit(first);
  t.equal(get(c, key(0, 'k')), second.record, 'the newer write is still there');
  commit(second);
  t.equal(c.items, 0);
  const { c: c2 } = withWrites(1 << 20);
  const tomb = putWrite(c2, key(0, 't'), rec(1));
  c2.settle(tomb.e, tomb.stamp, false);
  t.equal(c2.items, 0, 'a committed tombstone leaves the table');
});

t.test('a purge removes its own record, never a newer write', async (t) => {
  const seqnoOf = (r: Buffer): number => r[0];
  const c = new ItemCache(1 << 20);
  const w = (n: number): Buffer => Buffer.from([n]);
  c.putClean(key(0, 'a'), w(5));
  putDirty(c, key(0, 'c'), w(7));
  c.purged(key(0, 'c'), 6, seqnoOf);
  t.ok(c.peek(key(0, 'c')), 'a purge under a newer write leaves the newer write');
  c.purged(key(0, 'a'), 5, seqnoOf);
  t.equal(c.peek(key(0, 'a')), undefined, "a purge of the entry's own record removes it");
});

t.test('a write settled by entry and stamp finds its own entry, and never a key that took the number after a clear', async (t) => {
  const c = new ItemCache(1 << 20);
  const a = putWrite(c, key(0, 'a'), Buffer.from('record of a'));
  const newer = putWrite(c, key(0, 'a'), Buffer.from('newer record of a'));
  t.equal(newer.e, a.e, 'a newer write of the key keeps the entry');
  t.notOk(c.holdsWrite(a.e, a.stamp), 'the entry holds the newer write, not the older');
  c.committed(a.e, a.stamp);
  c.settle(a.e, a.stamp, true);
  t.equal(c.peek(key(0, 'a')), newer.record, 'the older write settled; the newer one stays, its own Buffer');
  // FLUSH empties the table under writes in flight; entry numbers are handed out again.
  const before = c.generation;
  c.clear();
  t.ok(c.generation > before, 'a clear is a new generation');
  const b = putWrite(c, key(0, 'b'), Buffer.from('record of b'));
  t.equal(b.e, a.e, 'b takes the number a had');
  c.committed(newer.e, newer.stamp);
  c.settle(newer.e, newer.stamp, true);
  t.equal(c.peek(key(0, 'b')), b.record, "a's commit and apply leave b's entry as it was");
  t.equal(c.peek(key(0, 'a')), undefined, 'a is not brought back');
  c.committed(b.e, b.stamp);
  t.ok(c.holdsWrite(b.e, b.stamp), 'a committed write is still held');
  t.not(c.peek(key(0, 'b')), b.record, 'committed: its record is in the arena, not its Buffer');
  t.equal(c.peek(key(0, 'b'))?.toString(), 'record of b');
  c.settle(b.e, b.stamp, true);
  t.equal(c.peek(key(0, 'b'))?.toString(), 'record of b', "b's own apply settles it, kept");
  t.notOk(c.holdsWrite(b.e, b.stamp), 'settled: clean, no write held');
});

t.test('a write given the entry a lookup found reuses it; a hint naming another key is ignored', async (t) => {
  const c = new ItemCache(1 << 20);
  const a = putWrite(c, key(0, 'a'), Buffer.from('a1'));
  const b = putWrite(c, key(0, 'b'), Buffer.from('b1'));
  t.equal(putDirty(c, key(0, 'a'), Buffer.from('a2'), a.e), a.e, 'the right hint: the same entry');
  t.equal(putDirty(c, key(0, 'c'), Buffer.from('c1'), b.e) === b.e, false, "a hint to b's entry does not take it for c");
  t.equal(c.peek(key(0, 'b'))?.toString(), 'b1', 'b is untouched');
  t.equal(putDirty(c, key(0, 'a'), Buffer.from('a3'), 999_999), a.e, 'a hint past the table is ignored');
  t.equal(c.peek(key(0, 'a'))?.toString(), 'a3');
  t.equal(c.peek(key(0, 'c'))?.toString(), 'c1');
  t.equal(c.items, 3);
});

t.test('a committed write stays pinned in the arena until applied, whatever the quota', async (t) => {
  const { c, write, commit } = withWrites(5_000);
  const written = Array.from({ length: 100 }, (_, i) => write(key(0, `p${i}`), 100));
  for (const w of written) c.committed(w.e, w.stamp);
  t.ok(c.arenaBytes > 0, 'the records went into the arena');
  for (let i = 0; i < 200; i++) c.putClean(key(0, `c${i}`), rec(100));
  let kept = 0;
  for (let i = 0; i < 100; i++) if (c.peek(key(0, `p${i}`))?.equals(rec(100))) kept++;
  t.equal(kept, 100, 'no committed write was ejected before its apply');
  for (const w of written) commit(w);
  for (let i = 0; i < 10; i++) c.putClean(key(0, `after${i}`), rec(100));
  t.ok(c.bytes <= 5_000, `within the quota (${c.bytes} bytes) once applied`);
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
  const written: Written[] = [];
  for (let i = 0; i < 1000; i++) written.push(write(key(0, `w${i}`), 100));
  t.equal(c.items, 1000, 'every uncommitted write is kept, over the quota');
  t.equal(c.ejections, 0);
  for (const w of written) commit(w);
  for (let i = 0; i < 10; i++) c.putClean(key(0, `after${i}`), rec(100));
  t.ok(c.bytes <= 5_000, `back within the quota (${c.bytes} bytes) once committed`);
  t.ok(c.peek(key(0, 'after9')), 'the newest entry stays');
});

t.test('agrees with a Map through a long random run (probing, removal shifts, growth, arena chunks reused)', async (t) => {
  const c = new ItemCache(1 << 30);
  const model = new Map<string, Buffer>();
  let seed = 7;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let bad = 0;
  for (let step = 0; step < 60_000; step++) {
    // Few distinct keys at first (dense clusters, many replaces), then many (growth). Some keys
    // are too long to fit inside a bucket (more than 20 bytes), some at the edge (18 to 21).
    const n = rand(step < 20_000 ? 500 : 8_000);
    const name = n % 7 === 0 ? `long-${'x'.repeat(36 + (n % 20))}-${n}` : n % 11 === 0 ? `edge-${n}`.padEnd(16 + (n % 4), 'e') : `k${n}`;
    const k = key(rand(3), name);
    const op = rand(10);
    if (op < 5) {
      // Records of distinct bytes and sizes (some past the arena's largest chunk, kept as
      // Buffers): a record read back from a reused chunk would not match.
      const size = rand(10) === 0 ? 9000 + rand(100) : 1 + rand(300);
      const r = Buffer.alloc(size, `${step}:`);
      c.putClean(k, r);
      model.set(k, r);
    } else if (op < 8) {
      c.delete(k);
      model.delete(k);
    } else {
      const found = get(c, k);
      const want = model.get(k);
      if (found === undefined ? want !== undefined : want === undefined || !found.equals(want)) bad++;
    }
    if (step % 20_000 === 19_999) {
      c.dropPrefix(key(1, ''));
      for (const m of [...model.keys()]) if (m.charCodeAt(1) === 1) model.delete(m);
    }
  }
  t.equal(bad, 0, 'every lookup during the run agreed');
  t.equal(c.items, model.size);
  let missing = 0;
  for (const [k, r] of model) if (c.peek(k)?.equals(r) !== true) missing++;
  t.equal(missing, 0, 'every key of the model is found with its record');
  let expected = 0;
  for (const [k, r] of model) expected += k.length + r.length + (k.length > INLINE_KEY_MAX ? LONG_KEY_OVERHEAD : 0);
  t.equal(c.bytes - model.size * ENTRY_OVERHEAD, expected, 'byte count matches');
  t.same(
    [...c.residents()].map(([k]) => k).sort(),
    [...model.keys()].sort(),
    'every key is listed back as it was stored, inside a bucket or not',
  );
});

t.test('under a small quota, with writes committing and entries ejected, a record found is always the newest', async (t) => {
  const c = new ItemCache(512 * 1024);
  const model = new Map<string, Buffer>();
  const dirty: Array<[string, Written]> = [];
  let seed = 11;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let wrong = 0;
  let found = 0;
  for (let step = 0; step < 100_000; step++) {
    const k = key(rand(4), `k${rand(800)}`);
    const op = rand(10);
    if (op < 3) {
      const r = Buffer.alloc(1 + rand(rand(10) === 0 ? 9000 : 400), `${step}:`);
      model.set(k, r);
      dirty.push([k, putWrite(c, k, r)]);
    } else if (op < 4 && dirty.length > 0) {
      // Commits, then applies, in write order, a few at a time.
      const batch = dirty.splice(0, 1 + rand(8));
      for (const [, w] of batch) c.committed(w.e, w.stamp);
      for (const [, w] of batch) c.settle(w.e, w.stamp, true);
    } else if (op < 5) {
      c.delete(k);
      model.delete(k);
    } else {
      const got = get(c, k);
      if (got !== undefined) {
        found++;
        const want = model.get(k);
        if (want === undefined || !got.equals(want)) wrong++;
      }
    }
  }
  t.equal(wrong, 0, 'no record found differs from the newest written');
  t.ok(found > 5_000, `many lookups hit (${found})`);
  t.ok(c.ejections > 0, 'entries were ejected');
  for (const [dk, w] of dirty) t.ok(c.peek(dk)?.equals(w.record) === true || model.get(dk) !== w.record, 'an uncommitted write stays resident');
});

t.test('locate describes the record get returns, where it lies (arena page or own Buffer), counted alike', async (t) => {
  const c = new ItemCache(1 << 20);
  const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);
  c.putClean(key(0, 'clean'), bytes(140, 0x62));
  const dirty = bytes(90, 0x63);
  putDirty(c, key(0, 'dirty'), dirty);
  c.putClean(key(0, 'large'), bytes(20_000, 0x64));
  const loc: RecordLocation = { buf: Buffer.alloc(0), offset: 0, length: 0, data: null };
  for (const k of ['clean', 'dirty', 'large']) {
    // locate takes the vBucket and the client key where it lies; get, the item key.
    t.ok(c.locate(0, Buffer.from(`xyz${k}`, 'latin1'), 3, k.length, true, loc) >= 0, `${k} found`);
    const probe = Buffer.from(`xyz${key(0, k)}`, 'latin1');
    const whole = c.get(probe, 3, probe.length - 3);
    t.same(loc.buf.subarray(loc.offset, loc.offset + loc.length), whole, `${k}: the same bytes`);
    if (k === 'clean') {
      // An arena page comes with its DataView: the same bytes, read through it.
      const data = loc.data;
      t.ok(data !== null && data.buffer === loc.buf.buffer && data.byteOffset === loc.buf.byteOffset && data.byteLength === loc.buf.length, 'clean: a DataView over exactly its page');
      if (data !== null) t.equal(data.getUint8(loc.offset + loc.length - 1), 0x62, 'clean: read through the DataView');
    } else {
      t.equal(loc.data, null, `${k}: a record in a Buffer of its own has no DataView`);
    }
  }
  t.equal(loc.buf.length, 20_000, 'a record too large for the arena is its own Buffer');
  const probe = Buffer.from(key(0, 'clean'), 'latin1');
  t.equal(c.access(probe, 0, probe.length) & 1, 1, 'a located fetch marks the entry fetched');
  t.equal(c.locate(0, Buffer.from('nope'), 0, 4, true, loc), -1, 'a missing key');
  t.equal(c.locate(1, Buffer.from('clean'), 0, 5, true, loc), -1, 'the key in another vBucket');
  t.equal(c.hits, 6);
  t.equal(c.misses, 2);
  const page = (() => {
    c.locate(0, Buffer.from('dirty'), 0, 5, false, loc);
    return loc.buf;
  })();
  t.equal(page, dirty, 'an uncommitted write is located in its own Buffer, at 0');
});

t.test('writes given as key bytes inside a larger buffer: found by bytes and by string, keys copied back out', async (t) => {
  const c = new ItemCache(1 << 20);
  const names = [key(0, 's'), key(1, 'x'.repeat(INLINE_KEY_MAX - 2)), key(2, 'y'.repeat(INLINE_KEY_MAX - 1)), key(3, 'z'.repeat(300))];
  const entries: number[] = [];
  for (const [i, k] of names.entries()) {
    const bytes = Buffer.from(`pad${k}tail`, 'latin1');
    entries.push(c.putDirtyKey(bytes, 3, k.length, Buffer.from(`r${i}`)));
  }
  for (const [i, k] of names.entries()) {
    t.equal(get(c, k)?.toString(), `r${i}`, `${k.length}-byte key found by its bytes`);
    t.equal(c.peek(k)?.toString(), `r${i}`, `${k.length}-byte key found by its string`);
    t.equal(c.keyLengthAt(entries[i]), k.length);
    const out = Buffer.alloc(k.length + 4, 0xee);
    t.equal(c.copyKey(entries[i], out, 2), k.length);
    t.equal(out.subarray(2, 2 + k.length).toString('latin1'), k, 'copied out byte for byte');
    t.same([out[0], out[1], out[k.length + 2], out[k.length + 3]], [0xee, 0xee, 0xee, 0xee], 'and nothing around it');
    t.equal(c.keyAt(entries[i]), k);
  }
  const again = Buffer.from(names[3], 'latin1');
  t.equal(c.putDirtyKey(again, 0, again.length, Buffer.from('newer'), entries[3]), entries[3], 'a long key with the right hint: the same entry');
  t.equal(c.putDirtyKey(again, 0, again.length, Buffer.from('newest'), entries[0]), entries[3], "a hint to another key's entry is ignored");
  t.equal(c.peek(names[3])?.toString(), 'newest');
  t.equal(c.peek(names[0])?.toString(), 'r0', 'the other key untouched');
  t.equal(c.items, names.length);
});

t.test('at its entry limit the table ejects a clean entry per insert, and says it has no room once every entry is pinned', async (t) => {
  const c = new ItemCache(1 << 30, { entries: 100 });
  for (let i = 0; i < 300; i++) c.putClean(key(0, `clean${i}`), rec(10));
  t.equal(c.items, 99, 'clean entries ejected to stay under the limit, the quota far away');
  t.ok(c.hasRoom);
  t.ok(c.ejections >= 201);
  const writes: { e: number; stamp: number }[] = [];
  for (let i = 0; c.hasRoom && i < 200; i++) {
    const e = putDirty(c, key(0, `dirty${i}`), rec(10));
    writes.push({ e, stamp: c.stampOf(e) });
  }
  t.equal(c.items, 100, 'full of writes: no clean entry left to eject');
  t.equal(writes.length, 100, 'the table fills with pinned writes');
  t.notOk(c.hasRoom);
  for (let i = 0; i < 100; i++) t.equal(get(c, key(0, `dirty${i}`))?.length, 10, 'every write still found');
  c.putClean(key(0, 'late-read'), rec(10));
  t.equal(get(c, key(0, 'late-read')), undefined, 'an LMDB read is not kept while the table is full');
  for (const w of writes) c.settle(w.e, w.stamp, true);
  c.putClean(key(0, 'another'), rec(10));
  t.ok(c.hasRoom, 'room again once the writes commit and the next insert ejects');
  t.equal(c.items, 99);
});

t.test('a key arena at its limit leaves no room for new keys; short keys and reads of kept ones still work', async (t) => {
  const c = new ItemCache(1 << 30, { longKeyBytes: 2 * 1024 * 1024 });
  // One length, so one size class: its pages alone fill the arena.
  const long = (i: number): string => key(0, `${'L'.repeat(60)}${String(i).padStart(6, '0')}`);
  let n = 0;
  for (; c.hasRoom && n < 100_000; n++) c.putClean(long(n), rec(10));
  t.notOk(c.hasRoom, 'the arena fills');
  t.ok(n > 1000, `${n} long keys before the arena's second page`);
  t.equal(get(c, long(0))?.length, 10);
  t.equal(get(c, long(n - 1))?.length, 10);
  c.putClean(key(0, 'short'), rec(10));
  t.equal(get(c, key(0, 'short')), undefined, 'nothing new is kept while there is no room');
});
