/**
 * The text-protocol framer: command lines and data blocks come out the same however the stream
 * is split, also when each chunk sits in a read buffer that is overwritten after the push.
 */
import t from 'tap';
import { AsciiFramer } from '../../protocol/ascii-framer.js';
import { randomChunks, rng } from '../fixtures/random.js';

const stream = Buffer.from('set alpha 0 0 5\r\nhello\r\nget alpha beta\r\nincr n 1\r\nset b 1 2 0\r\n\r\nversion\r\n', 'latin1');
const expected = ['line:set alpha 0 0 5', 'data:hello:true', 'line:get alpha beta', 'line:incr n 1', 'line:set b 1 2 0', 'data::true', 'line:version'];

function decode(chunks: Buffer[], transient: boolean): string[] {
  const seen: string[] = [];
  const framer = new AsciiFramer({
    line: (buf, start, end) => {
      const text = buf.toString('latin1', start, end);
      seen.push(`line:${text}`);
      const m = /^set \S+ \d+ \d+ (\d+)$/.exec(text);
      return m ? Number(m[1]) : -1;
    },
    data: (buf, start, length, ok) => (seen.push(`data:${buf.toString('latin1', start, start + length)}:${ok}`), true),
    tooLong: () => void seen.push('too-long'),
  });
  const shared = Buffer.alloc(4096);
  for (const c of chunks) {
    if (!transient) {
      framer.push(c);
      continue;
    }
    c.copy(shared);
    framer.push(shared.subarray(0, c.length), true);
    shared.fill(0x41);
  }
  return seen;
}

t.test('one chunk', async (t) => {
  t.same(decode([stream], false), expected);
  t.same(decode([stream], true), expected);
});

t.test('seeded random splits, adopted and transient chunks alike', async (t) => {
  const next = rng(99);
  for (let round = 0; round < 300; round++) {
    const chunks = randomChunks(stream, next, 20);
    for (const transient of [false, true]) {
      const seen = decode(chunks, transient);
      if (JSON.stringify(seen) !== JSON.stringify(expected)) return t.fail(`round ${round} (transient ${transient}) differs: ${JSON.stringify(seen)}`);
    }
  }
  t.pass('300 random chunkings agree');
});
