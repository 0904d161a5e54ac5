/**
 * The framer decodes identically however the stream is split, reports limits at header time,
 * never mutates its input, and does not hold on to memory after a large frame.
 */
import t, { type Test } from 'tap';
import { Framer, type Frame, type FramerFault } from '../../protocol/framer.js';
import { Op, req, setExtras, arithExtras } from '../fixtures/frames.js';
import { randomChunks, rng } from '../fixtures/random.js';

interface Seen {
  kind: 'frame' | 'oversized' | 'fault';
  opcode: number;
  opaque: number;
  cas: number;
  vbucket: number;
  extras: string;
  key: string;
  value: string;
  reason?: FramerFault;
}

function snapshot(f: Frame, kind: Seen['kind'], reason?: FramerFault): Seen {
  const hex = (from: number, len: number): string => (kind === 'frame' || kind === 'oversized' ? f.buf.subarray(from, from + len).toString('hex') : '');
  return {
    kind,
    opcode: f.opcode,
    opaque: f.opaque,
    cas: f.cas,
    vbucket: f.vbucket,
    extras: hex(f.extrasOffset, f.extrasLength),
    key: hex(f.keyOffset, f.keyLength),
    value: kind === 'frame' ? hex(f.valueOffset, f.valueLength) : String(f.valueLength),
    ...(reason ? { reason } : {}),
  };
}

function decode(chunks: Buffer[], maxValueLength = 1024, hardBodyCap = 1 << 20): { seen: Seen[]; framer: Framer } {
  const seen: Seen[] = [];
  const framer = new Framer(
    {
      frame: (f) => (seen.push(snapshot(f, 'frame')), true),
      oversized: (f) => (seen.push(snapshot(f, 'oversized')), true),
      fault: (reason, f) => void seen.push(snapshot(f, 'fault', reason)),
    },
    { maxValueLength, hardBodyCap },
  );
  for (const c of chunks) framer.push(c);
  return { seen, framer };
}

const pipeline = Buffer.concat([
  req({ opcode: Op.SET, key: 'alpha', extras: setExtras(7, 0), value: 'one', opaque: 1, cas: 5n, vbucket: 3 }),
  req({ opcode: Op.GETQ, key: 'alpha', opaque: 2 }),
  req({ opcode: Op.NOOP, opaque: 3 }),
  req({ opcode: Op.INCREMENT, key: 'n', extras: arithExtras(1n, 10n, 0), opaque: 4 }),
  req({ opcode: Op.APPEND, key: 'alpha', value: Buffer.alloc(700, 0x61), opaque: 5 }),
  req({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: Buffer.alloc(2000, 0x62), opaque: 6 }),
  req({ opcode: Op.GET, key: 'z'.repeat(250), opaque: 7 }),
  req({ opcode: Op.STAT, opaque: 8 }),
]);

const expected = decode([pipeline]).seen;

t.test('the whole pipeline in one chunk', async (t) => {
  t.equal(expected.length, 8);
  t.same(expected.map((s) => s.kind), ['frame', 'frame', 'frame', 'frame', 'frame', 'oversized', 'frame', 'frame']);
  t.same(expected[0], { kind: 'frame', opcode: Op.SET, opaque: 1, cas: 5, vbucket: 3, extras: setExtras(7, 0).toString('hex'), key: Buffer.from('alpha').toString('hex'), value: Buffer.from('one').toString('hex') });
  t.equal(expected[5].value, '2000', 'oversized value reported with its length');
  t.equal(expected[5].key, Buffer.from('big').toString('hex'), 'oversized frame still names its key');
});

t.test('every two-way split decodes identically', async (t) => {
  for (let i = 0; i <= pipeline.length; i++) {
    const { seen } = decode([pipeline.subarray(0, i), pipeline.subarray(i)]);
    if (JSON.stringify(seen) !== JSON.stringify(expected)) {
      t.fail(`split at ${i} differs`);
      return;
    }
  }
  t.pass(`all ${pipeline.length + 1} split points agree`);
});

t.test('one-byte chunks decode identically', async (t) => {
  const chunks = Array.from({ length: pipeline.length }, (_, i) => pipeline.subarray(i, i + 1));
  t.same(decode(chunks).seen, expected);
});

/** Decodes 300 seeded random chunkings of the pipeline with `run`; passes if all agree. */
function agreesUnderRandomSplits(t: Test, seed: number, maxChunk: number, run: (chunks: Buffer[]) => { seen: Seen[] }, agreed: string): void {
  const next = rng(seed);
  for (let round = 0; round < 300; round++) {
    const { seen } = run(randomChunks(pipeline, next, maxChunk));
    if (JSON.stringify(seen) !== JSON.stringify(expected)) return void t.fail(`round ${round} differs`);
  }
  t.pass(agreed);
}

t.test('seeded random splits into many chunks decode identically', async (t) => {
  agreesUnderRandomSplits(t, 42, 200, (chunks) => decode(chunks), '300 random chunkings agree');
});

/** Feeds `chunks` through one reused read buffer, scribbling over it after every push, as
 * the server's shared socket read buffer is reused by the next read. `whole`: the buffer is
 * passed whole with the read's length, as the server does (its bytes past it are garbage). */
function decodeTransient(chunks: Buffer[], sink?: (f: Frame) => boolean, whole = false, maxValueLength = 1024): { seen: Seen[]; framer: Framer } {
  const seen: Seen[] = [];
  const framer = new Framer(
    {
      frame: (f) => (seen.push(snapshot(f, 'frame')), sink ? sink(f) : true),
      oversized: (f) => (seen.push(snapshot(f, 'oversized')), true),
      fault: (reason, f) => void seen.push(snapshot(f, 'fault', reason)),
    },
    { maxValueLength, hardBodyCap: 1 << 20 },
  );
  const shared = Buffer.alloc(Math.max(4096, ...chunks.map((c) => c.length + 64)), 0xee);
  for (const c of chunks) {
    c.copy(shared);
    if (whole) framer.push(shared, true, c.length);
    else framer.push(shared.subarray(0, c.length), true);
    shared.fill(0xee);
  }
  return { seen, framer };
}

t.test('transient chunks (a reused read buffer) decode identically under random splits', async (t) => {
  agreesUnderRandomSplits(t, 1234, 300, (chunks) => decodeTransient(chunks), '300 random chunkings through one reused buffer agree');
});

t.test('a read buffer passed whole with its length decodes identically: nothing past the length is read', async (t) => {
  agreesUnderRandomSplits(t, 4321, 300, (chunks) => decodeTransient(chunks, undefined, true), '300 random chunkings, each pushed as the whole buffer and a length');
  const big = req({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: Buffer.alloc(3000, 1), opaque: 1 });
  const after = req({ opcode: Op.NOOP, opaque: 2 });
  const stream = Buffer.concat([big, after]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += 700) chunks.push(stream.subarray(i, i + 700));
  t.same(
    decodeTransient(chunks, undefined, true, 1024).seen.map((s) => `${s.kind} ${s.opaque}`),
    ['oversized 1', 'frame 2'],
    'an oversized value skipped across reads counts only the bytes read',
  );
});

t.test('a framer paused inside a transient chunk keeps its own copy of the rest', async (t) => {
  const frames = [1, 2, 3, 4].map((o) => req({ opcode: Op.SET, key: `k${o}`, extras: setExtras(o, 0), value: `v${o}`, opaque: o }));
  const { seen, framer } = decodeTransient([Buffer.concat(frames)], (f) => f.opaque !== 2);
  t.same(
    seen.map((s) => s.opaque),
    [1, 2],
    'paused after the second frame',
  );
  framer.resume();
  t.same(
    seen.map((s) => [s.opaque, Buffer.from(s.key, 'hex').toString(), Buffer.from(s.value, 'hex').toString()]),
    [1, 2, 3, 4].map((o) => [o, `k${o}`, `v${o}`]),
    'frames after the pause are intact although the read buffer was overwritten',
  );
});

t.test('input chunks are never mutated', async (t) => {
  const chunks = [pipeline.subarray(0, 100), pipeline.subarray(100, 1000), pipeline.subarray(1000)].map((c) => Buffer.from(c));
  const copies = chunks.map((c) => Buffer.from(c));
  decode(chunks);
  chunks.forEach((c, i) => t.ok(c.equals(copies[i]), `chunk ${i} unchanged`));
});

t.test('bad magic is a fault and nothing after it is framed', async (t) => {
  const bad = Buffer.concat([req({ opcode: Op.NOOP, opaque: 1 }), req({ opcode: Op.NOOP, magic: 0x42 }), req({ opcode: Op.NOOP, opaque: 3 })]);
  const { seen, framer } = decode([bad]);
  t.same(seen.map((s) => s.kind), ['frame', 'fault']);
  t.equal(seen[1].reason, 'bad-magic');
  t.ok(framer.isStopped);
});

t.test('response frames (magic 0x81) are framed for the receiver to judge', async (t) => {
  const frames: number[] = [];
  const framer = new Framer({ frame: (f) => (frames.push(f.magic), true), oversized: () => true, fault: () => {} }, { maxValueLength: 1024, hardBodyCap: 1 << 20 });
  framer.push(Buffer.concat([req({ opcode: Op.NOOP, magic: 0x81 }), req({ opcode: Op.NOOP })]));
  t.same(frames, [0x81, 0x80]);
});

t.test('key + extras longer than the body is a fault', async (t) => {
  const { seen } = decode([req({ opcode: Op.GET, key: 'abc', bodyLength: 2 })]);
  t.equal(seen[0].reason, 'inconsistent-lengths');
});

t.test('a body over the hard cap is a fault at header time', async (t) => {
  const header = req({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), bodyLength: 5_000_000 }).subarray(0, 24);
  const { seen } = decode([header], 1024, 1 << 20);
  t.equal(seen[0].reason, 'body-over-hard-cap');
});

t.test('an oversized value is skipped as it arrives, never buffered', async (t) => {
  const big = req({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: Buffer.alloc(100_000, 1), opaque: 1 });
  const after = req({ opcode: Op.NOOP, opaque: 2 });
  const seen: string[] = [];
  let maxRetained = 0;
  const framer = new Framer(
    {
      frame: (f) => (seen.push(`frame ${f.opaque}`), true),
      oversized: (f) => (seen.push(`oversized ${f.opaque}`), true),
      fault: (r) => void seen.push(`fault ${r}`),
    },
    { maxValueLength: 1024, hardBodyCap: 1 << 30 },
  );
  const stream = Buffer.concat([big, after]);
  for (let i = 0; i < stream.length; i += 999) {
    framer.push(stream.subarray(i, i + 999));
    maxRetained = Math.max(maxRetained, framer.pendingBytes);
  }
  t.same(seen, ['oversized 1', 'frame 2']);
  t.ok(maxRetained < 2000, `never held more than a chunk (${maxRetained} bytes)`);
});

t.test('the buffer is released after a large frame', async (t) => {
  const large = req({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: Buffer.alloc(600_000, 1) });
  const framer = new Framer({ frame: () => true, oversized: () => true, fault: () => {} }, { maxValueLength: 1 << 20, hardBodyCap: 1 << 30 });
  for (let i = 0; i < large.length; i += 1000) framer.push(large.subarray(i, i + 1000));
  t.equal(framer.pendingBytes, 0);
  t.ok(framer.retainedBytes <= 256 * 1024, `retains ${framer.retainedBytes} bytes`);
});

t.test('pause stops delivery mid-chunk and resume continues in order', async (t) => {
  const opaques: number[] = [];
  const framer = new Framer(
    { frame: (f) => (opaques.push(f.opaque), f.opaque !== 2), oversized: () => true, fault: () => {} },
    { maxValueLength: 1024, hardBodyCap: 1 << 20 },
  );
  framer.push(Buffer.concat([1, 2, 3, 4].map((o) => req({ opcode: Op.NOOP, opaque: o }))));
  t.same(opaques, [1, 2]);
  framer.push(req({ opcode: Op.NOOP, opaque: 5 }));
  t.same(opaques, [1, 2], 'nothing delivered while paused');
  framer.resume();
  t.same(opaques, [1, 2, 3, 4, 5]);
});

t.test('seeded random bytes never throw and always end in frames or a fault', async (t) => {
  const next = rng(7);
  for (let round = 0; round < 500; round++) {
    const len = Math.floor(next() * 300);
    const bytes = Buffer.alloc(len);
    for (let i = 0; i < len; i++) bytes[i] = Math.floor(next() * 256);
    if (next() < 0.5 && len > 0) bytes[0] = 0x80;
    const { seen } = decode([bytes.subarray(0, len >> 1), bytes.subarray(len >> 1)]);
    const faults = seen.filter((s) => s.kind === 'fault');
    if (faults.length > 1 || (faults.length === 1 && seen[seen.length - 1].kind !== 'fault')) return t.fail(`round ${round}: fault not last`);
  }
  t.pass('500 random inputs handled');
});

t.test('header fields at their extremes decode exactly (words read through a DataView)', async (t) => {
  const frames = [
    req({ opcode: 0xff, key: 'k', extras: Buffer.alloc(255, 1), value: 'v', opaque: 0xffffffff, cas: 2n ** 53n - 1n, vbucket: 0xffff }),
    req({ opcode: 0x00, key: 'x'.repeat(250), opaque: 0x80000000, cas: 2n ** 32n, vbucket: 0x8000 }),
    req({ opcode: 0x01, key: 'y', extras: setExtras(1, 2), value: 'z', opaque: 0, cas: 2n ** 32n - 1n, vbucket: 1 }),
  ];
  // After a 29-byte frame, so the headers lie at odd offsets; fed as one byte and the rest.
  const stream = Buffer.concat([req({ opcode: 0x0a, key: '', value: 'abcde', opaque: 9 }), ...frames]);
  const { seen } = decode([stream.subarray(0, 1), stream.subarray(1)]);
  t.same(
    seen.slice(1).map((s) => [s.opcode, s.opaque, s.cas, s.vbucket, s.extras.length / 2, s.key.length / 2]),
    [
      [0xff, 0xffffffff, 2 ** 53 - 1, 0xffff, 255, 1],
      [0x00, 0x80000000, 2 ** 32, 0x8000, 0, 250],
      [0x01, 0, 2 ** 32 - 1, 1, 8, 1],
    ],
  );
});
