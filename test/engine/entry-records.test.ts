/**
 * The resident table's records (entry-records.ts) where an entry's place is an int32: arena
 * addresses in 8-byte units read back the bytes stored, and an arena at its most bytes leaves
 * further clean records in Buffers of their own, still readable, with its pages not growing.
 */
import t from 'tap';
import { EntryRecords, type RecordLocation } from '../../lib/engine/entry-records.js';
import { PAGE_SIZE, RecordArena } from '../../lib/engine/record-arena.js';

/** A record of `length` bytes that names its entry in every byte, so a mix-up shows. */
const record = (e: number, length: number): Buffer => Buffer.alloc(length, e % 251);

function located(r: EntryRecords, e: number): Buffer {
  const loc: RecordLocation = { buf: Buffer.alloc(0), offset: 0, length: 0, data: null };
  r.locate(e, loc);
  return Buffer.from(loc.buf.subarray(loc.offset, loc.offset + loc.length));
}

t.test('records in the arena and past its end read back byte for byte', async (t) => {
  const onePage = new RecordArena(PAGE_SIZE);
  const entries = 20_000;
  const r = new EntryRecords(entries, onePage);
  // Lengths of several classes, 100 to 300 bytes: 20k of them need about 4 MB, 4 pages.
  const length = (e: number): number => 100 + ((e * 37) % 201);
  for (let e = 0; e < entries; e++) r.set(e, record(e, length(e)), e % 3 === 0);
  for (let e = 0; e < entries; e += 3) r.commit(e);
  t.equal(r.arenaBytes, PAGE_SIZE, 'the arena stays at its one page');
  let bad = 0;
  for (let e = 0; e < entries; e++) {
    const want = record(e, length(e));
    if (!r.of(e).equals(want) || !located(r, e).equals(want) || r.length(e) !== want.length) bad++;
  }
  t.equal(bad, 0, 'every record reads back, in the arena or out of it');
  // Dropping arena records makes room again: a new clean record goes into a freed chunk.
  for (let e = 0; e < entries; e++) r.drop(e);
  r.set(0, record(7, 120), false);
  t.ok(r.of(0).equals(record(7, 120)), 'a record stored after the drops reads back');
  t.equal(r.arenaBytes, PAGE_SIZE, 'from the chunks freed, no new page');
});

t.test('an unbounded arena takes every clean record, across pages', async (t) => {
  const r = new EntryRecords(16, new RecordArena());
  r.grow(30_000);
  for (let e = 0; e < 30_000; e++) r.set(e, record(e, 200), false);
  t.ok(r.arenaBytes > 4 * PAGE_SIZE, `several pages (${r.arenaBytes / PAGE_SIZE})`);
  let bad = 0;
  for (let e = 0; e < 30_000; e++) if (!located(r, e).equals(record(e, 200))) bad++;
  t.equal(bad, 0, 'every record reads back after the arrays grew');
});
