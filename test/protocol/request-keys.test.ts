/**
 * scanRequestKeys (protocol/request-keys.ts) notes the keys of the whole requests at the front
 * of a chunk, and the framer's `ahead` hook hands it the unframed bytes from a frame boundary,
 * however the stream was split.
 */
import t from 'tap';
import { Framer } from '../../protocol/framer.js';
import { MOST_REQUEST_KEYS, RequestKeys, scanRequestKeys } from '../../protocol/request-keys.js';
import { Op, req, setExtras } from '../fixtures/frames.js';

const noted = (buf: Buffer, keys: RequestKeys): Array<[number, string]> =>
  Array.from({ length: keys.count }, (_, i) => [keys.vbid[i], buf.subarray(keys.offset[i], keys.offset[i] + keys.length[i]).toString('latin1')]);

t.test('keys of whole requests, in order, with their vBuckets', async (t) => {
  const buf = Buffer.concat([
    req({ opcode: Op.GET, key: 'alpha', vbucket: 3 }),
    req({ opcode: Op.NOOP }), // no key: not noted
    req({ opcode: Op.SET, key: 'beta', extras: setExtras(1, 0), value: 'v'.repeat(300), vbucket: 700 }),
    req({ opcode: Op.DELETE, key: 'gamma', vbucket: 65535 }),
  ]);
  const keys = new RequestKeys();
  t.equal(scanRequestKeys(buf, 0, buf.length, keys), 3);
  t.same(noted(buf, keys), [[3, 'alpha'], [700, 'beta'], [65535, 'gamma']]);
  // From an offset, and only within the given length: the last request cut short.
  const pre = Buffer.alloc(10, 0xee);
  const shifted = Buffer.concat([pre, buf]);
  t.equal(scanRequestKeys(shifted, 10, buf.length - 1, keys), 2, 'a partial last frame is not noted');
  t.same(noted(shifted, keys), [[3, 'alpha'], [700, 'beta']]);
});

t.test('stops at what the framer must judge', async (t) => {
  const good = req({ opcode: Op.GET, key: 'one' });
  const keys = new RequestKeys();
  const cases: Array<[string, Buffer]> = [
    ['a response', req({ opcode: Op.GET, key: 'two', magic: 0x81 })],
    ['bad magic', req({ opcode: Op.GET, key: 'two', magic: 0x42 })],
    ['key and extras longer than the body', req({ opcode: Op.GET, key: 'two', bodyLength: 2 })],
    ['a body past the chunk', req({ opcode: Op.GET, key: 'two', bodyLength: 1 << 30 })],
  ];
  for (const [name, bad] of cases) {
    const buf = Buffer.concat([good, bad, good]);
    t.equal(scanRequestKeys(buf, 0, buf.length, keys), 1, name);
    t.same(noted(buf, keys), [[0, 'one']]);
  }
  t.equal(scanRequestKeys(Buffer.alloc(23, 0x80), 0, 23, keys), 0, 'less than a header');
});

t.test(`at most ${MOST_REQUEST_KEYS} keys`, async (t) => {
  const buf = Buffer.concat(Array.from({ length: MOST_REQUEST_KEYS + 5 }, (_, i) => req({ opcode: Op.GETK, key: `k${i}` })));
  const keys = new RequestKeys();
  t.equal(scanRequestKeys(buf, 0, buf.length, keys), MOST_REQUEST_KEYS);
  t.same(noted(buf, keys).at(-1), [0, `k${MOST_REQUEST_KEYS - 1}`]);
});

t.test("the framer's ahead hook starts at a frame, whatever the split", async (t) => {
  const frames = Array.from({ length: 6 }, (_, i) => req({ opcode: Op.SET, key: `key-${i}`, extras: setExtras(0, 0), value: `value-${i}`, vbucket: i }));
  const stream = Buffer.concat(frames);
  for (const cut of [1, 30, frames[0].length, frames[0].length + 5, stream.length - 3]) {
    const seen: string[][] = [];
    let framed = 0;
    const framer = new Framer(
      {
        frame: () => (framed++, true),
        oversized: () => true,
        fault: () => t.fail('no fault'),
        ahead: (buf, off, len) => {
          t.equal(buf[off], 0x80, `cut ${cut}: ahead starts at a frame`);
          const keys = new RequestKeys();
          scanRequestKeys(buf, off, len, keys);
          seen.push(noted(buf, keys).map(([vb, k]) => `${vb}:${k}`));
        },
      },
      { maxValueLength: 1024, hardBodyCap: 1 << 20 },
    );
    framer.push(stream.subarray(0, cut));
    framer.push(stream.subarray(cut));
    t.equal(framed, 6);
    const all = seen.flat();
    // Whatever a push framed, its keys were offered first: the keys seen are the frames' keys,
    // each complete frame at least once, in order per push.
    for (const k of all) t.match(k, /^(\d):key-\1$/, `cut ${cut}: ${k} is a whole request's key`);
    t.ok(new Set(all).size >= 5, `cut ${cut}: the second push offered the frames it completes`);
  }
});

t.test('no ahead call for a lone request, however long', async (t) => {
  let calls = 0;
  const framer = new Framer({ frame: () => true, oversized: () => true, fault: () => t.fail('no fault'), ahead: () => void calls++ }, { maxValueLength: 4096, hardBodyCap: 1 << 20 });
  const set = req({ opcode: Op.SET, key: 'lone', extras: setExtras(0, 0), value: 'v'.repeat(300) });
  framer.push(set);
  framer.push(set.subarray(0, 200));
  framer.push(set.subarray(200));
  t.equal(calls, 0);
  framer.push(Buffer.concat([set, set.subarray(0, 1)]));
  t.equal(calls, 1, 'one more byte than the request: looked at');
});

t.test('no ahead call for less than two headers, while paused, or while skipping a value', async (t) => {
  let calls = 0;
  let framed = 0;
  const framer = new Framer(
    {
      frame: () => (framed++, framed !== 1), // pauses after the first frame
      oversized: () => true,
      fault: () => t.fail('no fault'),
      ahead: () => void calls++,
    },
    { maxValueLength: 16, hardBodyCap: 1 << 20 },
  );
  framer.push(req({ opcode: Op.GET, key: 'k' }));
  t.equal(calls, 0, 'one small request: no call');
  framer.push(Buffer.concat([req({ opcode: Op.GET, key: 'a' }), req({ opcode: Op.GET, key: 'b' })]));
  t.equal(calls, 0, 'paused: no call');
  framer.resume();
  t.equal(framed, 3);
  const big = req({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: 'x'.repeat(4000) });
  framer.push(big.subarray(0, 100));
  const before = calls;
  framer.push(big.subarray(100, 2000));
  t.equal(calls, before, 'skipping an oversized value: no call');
});

t.test('behind follows every ahead once its frames are handled, also when the sink throws or pauses', async (t) => {
  const events: string[] = [];
  let throwAt = '';
  let pauseAt = '';
  const framer = new Framer(
    {
      frame: (f) => {
        const key = f.buf.toString('latin1', f.keyOffset, f.keyOffset + f.keyLength);
        events.push(key);
        if (key === throwAt) throw new Error('handler failed');
        return key !== pauseAt;
      },
      oversized: () => true,
      fault: () => t.fail('no fault'),
      ahead: () => void events.push('ahead'),
      behind: () => void events.push('behind'),
    },
    { maxValueLength: 1024, hardBodyCap: 1 << 20 },
  );
  const get = (key: string): Buffer => req({ opcode: Op.GET, key });
  framer.push(Buffer.concat([get('a'), get('b')]));
  t.same(events, ['ahead', 'a', 'b', 'behind']);
  events.length = 0;
  framer.push(get('c'));
  t.same(events, ['c'], 'a lone request: neither');
  events.length = 0;
  pauseAt = 'd';
  framer.push(Buffer.concat([get('d'), get('e')]));
  t.same(events, ['ahead', 'd', 'behind'], 'paused: behind at once');
  events.length = 0;
  framer.resume();
  t.same(events, ['e'], 'the rest framed later, not looked ahead at');
  events.length = 0;
  throwAt = 'f';
  t.throws(() => framer.push(Buffer.concat([get('f'), get('g')])), /handler failed/);
  t.same(events, ['ahead', 'f', 'behind'], 'a throwing sink: behind all the same');
});
