/**
 * The resident table's index (bucket-table.ts) against a Map, through several growths: while
 * the old table drains into the new one, every key is found once, by bytes and as a string,
 * with its state and key intact (and as a vBucket and client key, the item key not built), and
 * removals and re-adds in either table stay exact. Keys are short (inline in a bucket) and long
 * (in the key arena); a seeded generator makes a failure repeatable.
 */
import t from 'tap';
import { BucketTable } from '../../lib/engine/bucket-table.js';
import { INLINE_KEY_MAX } from '../../lib/engine/bucket-layout.js';
import { hashItemKey } from '../../lib/engine/key-hash.js';

/** findItem of a key taken as an item key: its first two bytes the vBucket, the rest the client
 * key, given where it lies in a larger buffer. */
function findAsItem(table: BucketTable, key: string): number {
  if (key.length < 2) return table.findKey(key);
  const b = Buffer.from(`..${key}`, 'latin1');
  const vbid = b.readUInt16BE(2);
  return table.findItem(vbid, b, 4, key.length - 2, hashItemKey(vbid, b, 4, key.length - 2));
}

/** xorshift32: the same sequence on every run. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

const keyFor = (i: number): string => (i % 5 === 0 ? `a-long-key-kept-as-a-string-${i}` : `k${i}`);

class Model {
  readonly table: BucketTable;
  readonly byKey = new Map<string, { e: number; state: number }>();
  private readonly freeEntries: number[] = [];
  private nextEntry = 0;
  private capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.table = new BucketTable(capacity);
  }

  add(key: string, state: number, asBytes: boolean): number {
    const e = this.freeEntries.pop() ?? this.nextEntry++;
    if (e >= this.capacity) {
      this.capacity *= 2;
      this.table.growEntries(this.capacity);
    }
    if (asBytes) {
      const b = Buffer.from(key, 'latin1');
      const slot = this.table.lookupBytes(b, 0, b.length);
      if (slot >= 0) throw new Error(`${key}: found before it was added`);
      this.table.addBytes(slot, e, b, 0, b.length, state);
    } else {
      const slot = this.table.lookup(key);
      if (slot >= 0) throw new Error(`${key}: found before it was added`);
      this.table.add(slot, e, key, state);
    }
    this.byKey.set(key, { e, state });
    return e;
  }

  /** Keys removed lately: a stale copy of one must not be found. */
  readonly removed: string[] = [];

  remove(key: string): void {
    const m = this.byKey.get(key);
    if (m === undefined) return;
    this.table.remove(m.e);
    this.freeEntries.push(m.e);
    this.byKey.delete(key);
    this.removed.push(key);
    if (this.removed.length > 500) this.removed.shift();
  }
}

/** Every key of the model found under its entry, both ways, with its state and bytes; a
 * sample of absent keys not found. Returns the number of mismatches. */
function check(m: Model, absent: string[]): number {
  let wrong = 0;
  const out = Buffer.alloc(1024);
  for (const [key, { e, state }] of m.byKey) {
    const b = Buffer.from(key, 'latin1');
    // The string lookup first: the bucket a lookup found must be its own, not the last key's.
    if (m.table.findKey(key) !== e || m.table.foundState() !== state) wrong++;
    if (m.table.find(b, 0, b.length) !== e || m.table.foundState() !== state) wrong++;
    if (findAsItem(m.table, key) !== e || m.table.foundState() !== state) wrong++;
    if (!m.table.has(e) || !m.table.holdsBytes(e, b, 0, b.length)) wrong++;
    if (m.table.state(e) !== state || m.table.keyLength(e) !== key.length || m.table.keyOf(e) !== key) wrong++;
    const n = m.table.copyKey(e, out, 0);
    if (out.toString('latin1', 0, n) !== key || !m.table.keyStartsWith(e, key.slice(0, 3))) wrong++;
  }
  for (const key of [...absent, ...m.removed]) {
    if (m.byKey.has(key)) continue;
    const b = Buffer.from(key, 'latin1');
    if (m.table.find(b, 0, b.length) !== -1 || m.table.findKey(key) !== -1 || findAsItem(m.table, key) !== -1) wrong++;
  }
  return wrong;
}

t.test('adds, removes and lookups through growths agree with a Map', async (t) => {
  const rand = rng(0x5eed1234);
  const m = new Model(64);
  let next = 0;
  const absent = Array.from({ length: 200 }, (_, i) => keyFor(1_000_000 + i));
  let checks = 0;
  let wrong = 0;
  for (let step = 0; step < 60_000; step++) {
    const r = rand();
    if (r < 0.65 || m.byKey.size < 10) {
      m.add(keyFor(next++), (next * 7) & 0xff, rand() < 0.5);
    } else if (r < 0.9) {
      // Remove a key added lately (likely in the new table) or early (likely still in the old).
      const i = rand() < 0.5 ? next - 1 - Math.floor(rand() * 50) : Math.floor(rand() * next);
      m.remove(keyFor(i));
    } else {
      const key = keyFor(Math.floor(rand() * next));
      const mm = m.byKey.get(key);
      if (mm !== undefined) {
        mm.state = Math.floor(rand() * 256);
        m.table.setState(mm.e, mm.state);
      }
      // As a hit or an overwrite does: the old table drains by these too.
      m.table.moveSome();
    }
    // Check after every step while small (runs that wrap past a small table's end are
    // common, and each growth drains over a few dozen adds), then every few thousand.
    if (step < 1500 || step % 2503 === 0) {
      wrong += check(m, absent);
      checks++;
    }
  }
  wrong += check(m, absent);
  t.ok(checks > 1500, `checked ${checks + 1} times over ${next} keys added`);
  t.equal(wrong, 0, 'every key found where the Map says, none found that is not there');
});

t.test('a table emptied by removals and cleared in the middle of a growth starts over clean', async (t) => {
  const m = new Model(16);
  for (let i = 0; i < 5000; i++) m.add(keyFor(i), 1, i % 2 === 0);
  for (let i = 0; i < 5000; i += 2) m.remove(keyFor(i));
  t.equal(check(m, [keyFor(0), keyFor(2)]), 0, 'half removed');
  m.table.clear();
  for (const [key] of m.byKey) {
    const b = Buffer.from(key, 'latin1');
    if (m.table.find(b, 0, b.length) !== -1) t.fail(`${key} found after clear`);
  }
  m.byKey.clear();
  // Entry numbers are the model's own; fresh ones above the old keep it simple.
  for (let i = 0; i < 3000; i++) m.add(keyFor(10_000 + i), 2, i % 3 === 0);
  t.equal(check(m, [keyFor(1), keyFor(3)]), 0, 'refilled after the clear, through growths again');
});

t.test('the longest inline key and one byte longer both work', async (t) => {
  const m = new Model(8);
  const inline = 'x'.repeat(INLINE_KEY_MAX);
  const long = 'y'.repeat(INLINE_KEY_MAX + 1);
  m.add(inline, 3, true);
  m.add(long, 4, false);
  for (let i = 0; i < 100; i++) m.add(keyFor(i), 5, true);
  t.equal(check(m, ['z'.repeat(INLINE_KEY_MAX)]), 0);
});

t.test('long keys of every length, any byte values, churned: found exactly, their chunks reused', async (t) => {
  const m = new Model(64);
  // Lengths 21..400 with bytes 0..255 (latin1), two keys per length differing only in the last byte.
  const keys: string[] = [];
  for (let len = INLINE_KEY_MAX + 1; len <= 400; len++) {
    const body = Array.from({ length: len - 1 }, (_, i) => String.fromCharCode((i * 37 + len) & 0xff)).join('');
    keys.push(`${body}\u00ff`, `${body}\u0000`);
  }
  keys.forEach((k, i) => m.add(k, i & 0xff, i % 2 === 0));
  t.equal(check(m, []), 0, `${keys.length} long keys found by bytes and as strings`);
  const bytes = m.table.longKeyBytes;
  for (let round = 0; round < 5; round++) {
    // Every other key out, then back in (by the other form): chunks come back and are taken again.
    keys.forEach((k, i) => i % 2 === round % 2 && m.remove(k));
    t.equal(check(m, []), 0, `round ${round}: half removed, the other half intact`);
    keys.forEach((k, i) => i % 2 === round % 2 && m.add(k, round, i % 3 === 0));
  }
  t.equal(check(m, []), 0, 'all back after five rounds of churn');
  t.equal(m.table.longKeyBytes, bytes, 'the key arena took no new page: removed keys gave their chunks back');
});

t.test('the bucket a lookup found does not keep a drained table alive', async (t) => {
  const m = new Model(16);
  const inside = m.table as unknown as { old: Int32Array | null; foundInts: Int32Array };
  let next = 0;
  while (inside.old === null) m.add(keyFor(next++), 1, true);
  const drained = inside.old as Int32Array;
  // A key still in the old table, found there.
  const inOld = [...m.byKey.keys()].find((k) => {
    const b = Buffer.from(k, 'latin1');
    return m.table.find(b, 0, b.length) >= 0 && inside.foundInts === drained;
  });
  t.ok(inOld !== undefined, 'a lookup found a key in the table being drained');
  while (inside.old === drained) m.add(keyFor(next++), 1, true);
  t.not(inside.foundInts, drained, 'once drained, that table is no longer referenced by the found bucket');
  t.equal(check(m, []), 0, 'every key still found');
});
