/**
 * The hot-path byte helpers agree with Buffer's own methods: big-endian reads and writes at any
 * offset, and copies of short and long runs between buffers that are views into larger memory
 * (a non-zero byteOffset, as pooled Buffers have).
 */
import t from 'tap';
import { WORD_COPY_MAX, copyBytes, copyWords, dataViewOf, equalWords, keyView, putU16be, putU32be, u16be, u32be } from '../../protocol/bytes.js';
import { rng } from '../fixtures/random.js';

t.test('u16be/u32be and their writers match Buffer at every offset', async (t) => {
  const next = rng(5);
  const b = Buffer.alloc(16);
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const o = Math.floor(next() * 12);
    const v32 = Math.floor(next() * 0x100000000);
    const v16 = v32 & 0xffff;
    putU32be(b, o, v32);
    if (b.readUInt32BE(o) !== v32 || u32be(b, o) !== v32) bad++;
    putU16be(b, o, v16);
    if (b.readUInt16BE(o) !== v16 || u16be(b, o) !== v16) bad++;
  }
  t.equal(bad, 0);
  putU32be(b, 0, 0xffffffff);
  t.equal(u32be(b, 0), 0xffffffff, 'the top bit reads back unsigned');
});

t.test('copyBytes copies exactly the run asked for, short or long, between views', async (t) => {
  const big = Buffer.alloc(4096);
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
  const src = big.subarray(100, 3000);
  for (const length of [0, 1, 31, 32, 33, 100, 2000]) {
    const dst = Buffer.alloc(2600, 0xee).subarray(50);
    copyBytes(src, 7, dst, 3, length);
    t.same(dst.subarray(3, 3 + length), src.subarray(7, 7 + length), `${length} bytes copied`);
    t.equal(dst[2], 0xee, `nothing written before (${length})`);
    t.equal(dst[3 + length], 0xee, `nothing written after (${length})`);
  }
});

t.test('copyBytes through its kept views: the same buffers again, others in turn, a buffer given away', async (t) => {
  const next = rng(11);
  const sources = [Buffer.alloc(512), Buffer.alloc(700).subarray(33), Buffer.alloc(300)];
  const targets = [Buffer.alloc(600, 0xee), Buffer.alloc(900, 0xee).subarray(77)];
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    // Mostly the same pair (the kept views), sometimes another buffer on either side, and the
    // source's bytes change between copies: a kept view must read the bytes of now.
    const src = sources[next() < 0.8 ? 0 : Math.floor(next() * sources.length)];
    const dst = targets[next() < 0.8 ? 0 : Math.floor(next() * targets.length)];
    for (let j = 0; j < src.length; j++) src[j] = Math.floor(next() * 256);
    const length = 33 + Math.floor(next() * (WORD_COPY_MAX - 32));
    const from = Math.floor(next() * (src.length - length));
    const to = 1 + Math.floor(next() * (dst.length - length - 2));
    dst.fill(0xee);
    copyBytes(src, from, dst, to, length);
    if (!dst.subarray(to, to + length).equals(src.subarray(from, from + length)) || dst[to - 1] !== 0xee || dst[to + length] !== 0xee) bad++;
  }
  t.equal(bad, 0, 'every copy exact, nothing written around it');
  // A buffer whose memory moves to another thread comes back as a new object: the copy into it
  // uses its own bytes, not the kept view of the old one.
  const given = new Uint8Array(256);
  copyBytes(sources[0], 0, given, 0, 100);
  structuredClone(given.buffer, { transfer: [given.buffer] });
  t.equal(given.length, 0, 'the old object is detached');
  const back = new Uint8Array(256);
  copyBytes(sources[0], 10, back, 5, 100);
  t.ok(Buffer.from(back.subarray(5, 105)).equals(sources[0].subarray(10, 110)), 'the new object holds the copy');
});

t.test('copyWords copies exactly the run asked for between DataViews, at any alignment', async (t) => {
  const big = Buffer.alloc(4096);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  const src = big.subarray(101, 3001);
  const srcData = dataViewOf(src);
  let bad = 0;
  for (const length of [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 100, WORD_COPY_MAX - 1, WORD_COPY_MAX, WORD_COPY_MAX + 1, 2000]) {
    for (const [from, to] of [[0, 0], [1, 3], [7, 2], [6, 5]]) {
      const dst = Buffer.alloc(2600, 0xee).subarray(50);
      copyWords(srcData, from, dataViewOf(dst), to, length);
      if (!dst.subarray(to, to + length).equals(src.subarray(from, from + length))) bad++;
      if ((to > 0 && dst[to - 1] !== 0xee) || dst[to + length] !== 0xee) bad++;
    }
  }
  t.equal(bad, 0, 'every length and alignment: the run, and nothing before or after it');
  t.throws(() => copyWords(srcData, src.length - 2, dataViewOf(Buffer.alloc(8)), 0, 4), RangeError, 'a run past the source is refused, not read beyond it');
});

t.test('ResponseWriter.u53 writes the same 8 bytes as a BigInt u64 for every seqno-sized number', async (t) => {
  const { ResponseWriter } = await import('../../protocol/response-writer.js');
  const next = rng(9);
  const values = [0, 1, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 500; i++) values.push(Math.floor(next() * Number.MAX_SAFE_INTEGER));
  const a = new ResponseWriter();
  const b = new ResponseWriter();
  for (const v of values) {
    a.u53(v);
    b.u64(BigInt(v));
  }
  t.same(Buffer.concat(a.take()), Buffer.concat(b.take()));
});

t.test('equalWords finds a difference at any byte of any length, between views at any offset', async (t) => {
  const a = Buffer.alloc(300);
  const b = Buffer.alloc(300);
  for (let i = 0; i < a.length; i++) a[i] = b[i] = (i * 7) & 0xff;
  const av = dataViewOf(a.subarray(3));
  const bv = dataViewOf(b.subarray(5));
  let wrong = 0;
  for (let length = 0; length <= 70; length++) {
    // The same bytes at different offsets of the two views: a run of `length` from a at 10 is b's at 8.
    if (!equalWords(av, 10, bv, 8, length)) wrong++;
    for (let at = 0; at < length; at++) {
      b[5 + 8 + at] ^= 0x80;
      if (equalWords(av, 10, bv, 8, length)) wrong++;
      b[5 + 8 + at] ^= 0x80;
    }
    // A difference just past the run is not looked at.
    b[5 + 8 + length] ^= 1;
    if (!equalWords(av, 10, bv, 8, length)) wrong++;
    b[5 + 8 + length] ^= 1;
  }
  t.equal(wrong, 0);
});

t.test('keyView gives the whole memory under a buffer: views of one memory and of several, in turn', async (t) => {
  const memory = Buffer.alloc(4096);
  memory.write('0123456789abcdef0123456789', 100, 'latin1');
  const at100 = memory.subarray(100, 140); // "0123456789abcdef..."
  const at110 = memory.subarray(110, 140); // "abcdef0123456789"
  const own = Buffer.from('89abcdef0123', 'latin1');
  const other = Buffer.alloc(64, 0x55).subarray(8);
  const wanted = dataViewOf(Buffer.from('89abcdef0123', 'latin1'));
  const cases: Array<[Buffer, number, boolean]> = [
    [at100, 8, true],
    [at110, 0, false],
    [own, 0, true],
    [other, 4, false],
    [memory.subarray(104, 140), 4, true], // memory[108..]: the same bytes through another view
  ];
  let wrong = 0;
  for (let round = 0; round < 3; round++) {
    for (const [buf, offset, equal] of cases) if (equalWords(wanted, 0, keyView(buf), buf.byteOffset + offset, 12) !== equal) wrong++;
  }
  t.equal(wrong, 0);
});
