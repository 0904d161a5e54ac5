/**
 * ResponseWriter hands over exactly the bytes encoded, in order, whichever way they are taken:
 * `takeOne` (one slab region, no list) when no value went out as a piece of its own, `take`
 * otherwise; and nothing is handed over twice.
 */
import t from 'tap';
import { ResponseWriter } from '../../protocol/response-writer.js';
import { decodeHeader, encodeHeader, HEADER_LENGTH, MAGIC_RESPONSE, newHeader } from '../../protocol/header.js';

const opaqueAt = (b: Buffer, offset: number): number => decodeHeader(b, offset, newHeader()).opaque;

function drain(w: ResponseWriter): Buffer {
  const one = w.takeOne();
  return one !== null ? Buffer.from(one) : Buffer.concat(w.take());
}

t.test('a response header is byte for byte what encodeHeader writes, at any field size', async (t) => {
  const cases: Array<[number, number, number, number, number, number, number]> = [
    // opcode, status, opaque, cas, extras, key, body
    [0x00, 0, 0, 0, 0, 0, 0],
    [0x0c, 0x0001, 0xffffffff, 2 ** 32 - 1, 4, 65535, 2 ** 32 - 1],
    [0xff, 0xffff, 0x80000000, 2 ** 32, 255, 250, 0x80000001],
    [0x01, 0x0086, 12345, 2 ** 53 - 1, 8, 17, 1 << 20],
    [0x05, 0x0082, 7, 1234567890123, 24, 0, 24],
  ];
  for (const [opcode, status, opaque, cas, extras, key, body] of cases) {
    const w = new ResponseWriter();
    w.header(opcode, status, opaque, cas, extras, key, body);
    const got = drain(w);
    const want = Buffer.alloc(HEADER_LENGTH);
    encodeHeader(want, 0, MAGIC_RESPONSE, opcode, status, extras, key, body, opaque, cas);
    t.same(got, want, `opcode ${opcode} cas ${cas}`);
  }
});

t.test('a batch of small replies comes out as one region, then nothing is left', async (t) => {
  const w = new ResponseWriter();
  const value = Buffer.from('hello');
  for (let i = 0; i < 3; i++) {
    w.header(0x00, 0, i, 7, 0, 0, value.length);
    w.bytes(value, 0, value.length);
  }
  t.equal(w.pending, 3 * 29);
  const one = w.takeOne();
  t.ok(one !== null, 'one region');
  t.equal(one?.length, 3 * 29);
  t.equal(opaqueAt(one as Buffer, 58), 2, 'the third reply is last');
  t.equal(w.pending, 0);
  t.equal(w.takeOne(), null, 'nothing twice');
  t.same(w.take(), [], 'nothing twice, by take either');
});

t.test('a large value goes out as its own piece: takeOne declines, take keeps the order', async (t) => {
  const w = new ResponseWriter();
  const big = Buffer.alloc(20 * 1024, 'x');
  w.header(0x00, 0, 1, 0, 0, 0, big.length);
  w.bytes(big, 0, big.length, true);
  w.simple(0x0a, 0, 2, 0);
  t.equal(w.takeOne(), null);
  const pieces = w.take();
  t.equal(pieces.length, 3, 'header, value, next reply');
  const all = Buffer.concat(pieces);
  t.equal(all.length, 24 + big.length + 24);
  t.equal(opaqueAt(all, 24 + big.length), 2);
  t.equal(w.takeOne(), null);
});

t.test('regions taken one after another never overlap, across slabs', async (t) => {
  const w = new ResponseWriter();
  const seen: Buffer[] = [];
  const value = Buffer.alloc(1000, 'v');
  for (let i = 0; i < 200; i++) {
    w.header(0x00, 0, i, 0, 0, 0, value.length);
    w.bytes(value, 0, value.length);
    if (i % 7 === 6) seen.push(drain(w));
  }
  seen.push(drain(w));
  const all = Buffer.concat(seen);
  t.equal(all.length, 200 * 1024);
  let wrong = 0;
  for (let i = 0; i < 200; i++) if (opaqueAt(all, i * 1024) !== i) wrong++;
  t.equal(wrong, 0, 'every reply once, in order');
});

t.test('bytesFrom writes what bytes writes, across slabs, whether or not the source has a DataView', async (t) => {
  const { dataViewOf, WORD_COPY_MAX } = await import('../../protocol/bytes.js');
  const page = Buffer.alloc(1 << 16);
  for (let i = 0; i < page.length; i++) page[i] = (i * 13 + 5) & 0xff;
  const data = dataViewOf(page);
  const a = new ResponseWriter();
  const b = new ResponseWriter();
  const taken: [Buffer[], Buffer[]] = [[], []];
  // Lengths around the word-copy limit and odd offsets, enough of them to cross several slabs.
  for (let i = 0; i < 3000; i++) {
    const length = [0, 1, 3, 4, 99, 100, WORD_COPY_MAX, WORD_COPY_MAX + 1, 700][i % 9];
    const offset = (i * 977) % (page.length - 1000);
    a.header(0x00, 0, i, 0, 4, 0, 4 + length);
    b.header(0x00, 0, i, 0, 4, 0, 4 + length);
    a.u32(i);
    b.u32(i);
    a.bytesFrom(page, i % 2 === 0 ? data : null, offset, length, true);
    b.bytes(page, offset, length, true);
    if (i % 50 === 49) {
      taken[0].push(drain(a));
      taken[1].push(drain(b));
    }
  }
  taken[0].push(drain(a));
  taken[1].push(drain(b));
  t.ok(Buffer.concat(taken[0]).equals(Buffer.concat(taken[1])), 'byte for byte the same stream');
  t.equal(a.pending, 0);
});

t.test('reuse starts the slab over only when nothing encoded waits to be taken', async (t) => {
  const w = new ResponseWriter();
  w.simple(0x0a, 0, 1, 0);
  const first = w.takeOne() as Buffer;
  const firstCopy = Buffer.from(first);
  w.simple(0x0a, 0, 2, 0);
  w.reuse(); // a reply is encoded and not taken: nothing moves
  const second = w.takeOne() as Buffer;
  t.equal(opaqueAt(second, 0), 2);
  t.same(first, firstCopy, 'the taken reply was not overwritten while one waited');
  t.equal(second.byteOffset, first.byteOffset + 24, 'the second reply followed the first');
  w.reuse(); // all taken: the next reply goes where the first was
  w.simple(0x0a, 0, 3, 0);
  const third = w.takeOne() as Buffer;
  t.equal(third.buffer, first.buffer, 'the same slab');
  t.equal(third.byteOffset, first.byteOffset, 'from its start');
  t.equal(opaqueAt(first, 0), 3, 'the region the caller gave back now holds the new reply');
});

t.test('reuse with a piece of its own pending does nothing', async (t) => {
  const w = new ResponseWriter();
  const big = Buffer.alloc(20 * 1024, 'y');
  w.simple(0x0a, 0, 1, 0);
  const first = w.takeOne() as Buffer;
  w.header(0x00, 0, 2, 0, 0, 0, big.length);
  w.bytes(big, 0, big.length, true);
  w.reuse(); // the header is cut into a piece not yet taken: nothing moves
  w.simple(0x0a, 0, 4, 0);
  const pieces = w.take();
  t.equal(opaqueAt(pieces[0], 0), 2);
  t.equal(opaqueAt(pieces[2], 0), 4, 'the reply after the value comes last');
  t.equal(pieces[0].byteOffset, first.byteOffset + 24, 'the header went after the first reply, not over it');
  t.equal(opaqueAt(first, 0), 1, 'the first reply is intact');
  w.reuse(); // all taken now
  w.simple(0x0a, 0, 3, 0);
  t.equal((w.takeOne() as Buffer).byteOffset, first.byteOffset, 'once taken, the slab starts over');
});

t.test('many batches reused keep one slab: no allocation per 64 KB of output', async (t) => {
  const w = new ResponseWriter();
  const value = Buffer.alloc(100, 'v');
  const slabs = new Set<ArrayBufferLike>();
  let misplaced = 0;
  for (let batch = 0; batch < 2000; batch++) {
    for (let i = 0; i < 16; i++) {
      w.header(0x00, 0, i, 0, 4, 0, 104);
      w.u32(0);
      w.bytes(value, 0, value.length);
    }
    const out = w.takeOne() as Buffer;
    slabs.add(out.buffer);
    if (out.length !== 16 * 128 || opaqueAt(out, 15 * 128) !== 15) misplaced++;
    w.reuse();
  }
  t.equal(misplaced, 0, 'each batch whole');
  t.equal(slabs.size, 1, '2000 batches of 2 KB in one slab');
});
