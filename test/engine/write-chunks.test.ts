/**
 * SET records written straight into the resident table's arena (ItemCache.reserveRecord,
 * putDirtyChunk): the chunk belongs to its write until the write commits, whatever happens to
 * the entry meanwhile (a newer write of the key, a removal), because the flusher may still
 * copy it into a batch or retry a failed one. Each test checks the chunk's bytes and which
 * chunk the arena hands out next (a class's free list is last in, first out).
 */
import t from 'tap';
import { ItemCache } from '../../lib/engine/item-cache.js';
import { PAGE_SIZE } from '../../lib/engine/record-arena.js';

const LENGTH = 136;
const key = (k: string): Buffer => Buffer.from(`\0\0${k}`, 'latin1');

interface Written {
  e: number;
  stamp: number;
  chunk: number;
}

function write(c: ItemCache, k: string, fill: number, hint = -1): Written {
  const chunk = c.reserveRecord(LENGTH);
  const at = chunk % PAGE_SIZE;
  c.chunkPage(chunk).fill(fill, at, at + LENGTH);
  const bytes = key(k);
  const e = c.putDirtyChunk(bytes, 0, bytes.length, chunk, LENGTH, hint);
  return { e, stamp: c.stampOf(e), chunk };
}

function chunkBytes(c: ItemCache, chunk: number): Buffer {
  const at = chunk % PAGE_SIZE;
  return c.chunkPage(chunk).subarray(at, at + LENGTH);
}

function read(c: ItemCache, k: string): Buffer | undefined {
  const bytes = key(k);
  return c.get(bytes, 0, bytes.length);
}

t.test('a newer write of the key leaves the older write its chunk until that one commits', async (t) => {
  const c = new ItemCache(1 << 20);
  const older = write(c, 'k', 0x31);
  const newer = write(c, 'k', 0x32, older.e);
  t.equal(newer.e, older.e, 'the same entry');
  // Chunks handed out meanwhile (other SETs) must not be the older write's.
  const others = [0, 1, 2, 3].map(() => c.reserveRecord(LENGTH));
  t.notOk(others.includes(older.chunk), 'not handed out while its write is uncommitted');
  for (const o of others) c.chunkPage(o).fill(0x39, o % PAGE_SIZE, (o % PAGE_SIZE) + LENGTH);
  t.ok(chunkBytes(c, older.chunk).every((b) => b === 0x31), 'the older write still reads its own record');
  t.ok(read(c, 'k')?.every((b) => b === 0x32), 'the key reads the newer record');
  c.committed(older.e, older.stamp, older.chunk, LENGTH);
  t.equal(c.reserveRecord(LENGTH), older.chunk, 'given back at its commit: the entry holds a newer write');
});

t.test('a write committed while its entry holds it: the chunk becomes the entry record', async (t) => {
  const c = new ItemCache(1 << 20);
  const w = write(c, 'k', 0x41);
  c.committed(w.e, w.stamp, w.chunk, LENGTH);
  const next = c.reserveRecord(LENGTH);
  t.not(next, w.chunk, 'still in use');
  c.settle(w.e, w.stamp, true);
  t.ok(read(c, 'k')?.every((b) => b === 0x41), 'clean now, the same bytes');
  // The entry owns it: a newer write gives it back at once.
  const newer = write(c, 'k', 0x42, w.e);
  t.equal(c.reserveRecord(LENGTH), w.chunk, 'freed by the newer write');
  t.ok(read(c, 'k')?.every((b) => b === 0x42));
  c.committed(newer.e, newer.stamp, newer.chunk, LENGTH);
  c.settle(newer.e, newer.stamp, true);
  t.equal(c.items, 1);
});

t.test('removing an entry leaves an uncommitted write its chunk', async (t) => {
  const c = new ItemCache(1 << 20);
  const w = write(c, 'gone', 0x51);
  c.delete(key('gone').toString('latin1'));
  t.equal(read(c, 'gone'), undefined);
  t.not(c.reserveRecord(LENGTH), w.chunk, 'not given back by the removal');
  t.ok(chunkBytes(c, w.chunk).every((b) => b === 0x51), 'the write can still be committed from it');
  c.committed(w.e, w.stamp, w.chunk, LENGTH);
  t.equal(c.reserveRecord(LENGTH), w.chunk, 'given back at the commit');
});

t.test('detachChunk (FLUSH, DEL_VBUCKET): the entry keeps a chunk it holds, one it does not is given back', async (t) => {
  const c = new ItemCache(1 << 20);
  const held = write(c, 'a', 0x61);
  const superseded = write(c, 'b', 0x62);
  const newest = write(c, 'b', 0x63, superseded.e);
  c.detachChunk(superseded.e, superseded.stamp, superseded.chunk, LENGTH);
  t.equal(c.reserveRecord(LENGTH), superseded.chunk, 'the superseded write let its chunk go');
  c.detachChunk(held.e, held.stamp, held.chunk, LENGTH);
  c.detachChunk(newest.e, newest.stamp, newest.chunk, LENGTH);
  t.ok(read(c, 'a')?.every((b) => b === 0x61), 'the entry still reads it');
  // Owned by the entries now: dropping the vBucket gives both chunks back.
  c.dropPrefix('\0\0');
  const again = [c.reserveRecord(LENGTH), c.reserveRecord(LENGTH)].sort((x, y) => x - y);
  t.same(again, [held.chunk, newest.chunk].sort((x, y) => x - y), 'both given back by the removal');
});
