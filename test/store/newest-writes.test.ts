/**
 * NewestWrites marks, among a transaction's writes spread over frames, exactly the last write of
 * each key: checked against a Map over seeded random keys of many lengths (short keys over a
 * small alphabet, so keys repeat often and hashes meet), over several transactions that reuse
 * the table, one much larger than the first; and with every frame given in one buffer that the
 * next frame overwrites, as the apply thread reads them back (frame-reader.ts).
 */
import t from 'tap';
import { NewestWrites } from '../../lib/store/newest-writes.js';
import { rng } from '../fixtures/random.js';

function transaction(marks: NewestWrites, next: () => number, writes: number, reused: Buffer | null = null): { got: number[]; want: number[] } {
  const frames: Array<{ bytes: Buffer; keys: Array<{ at: number; length: number }> }> = [];
  let left = writes;
  while (left > 0) {
    const n = Math.min(left, 1 + (Math.floor(next() * 1e9) % 50));
    left -= n;
    const keys: Array<{ at: number; length: number }> = [];
    const parts: Buffer[] = [];
    let at = 3;
    parts.push(Buffer.from('xyz'));
    for (let i = 0; i < n; i++) {
      const length = 1 + (Math.floor(next() * 1e9) % 4);
      const key = Buffer.from(Array.from({ length }, () => 97 + (Math.floor(next() * 1e9) % 3)));
      parts.push(key);
      keys.push({ at, length });
      at += length;
    }
    frames.push({ bytes: Buffer.concat(parts), keys });
  }
  marks.begin(writes);
  const last = new Map<string, number>();
  let w = 0;
  for (const f of frames) {
    if (reused !== null) {
      // The previous frame's bytes are overwritten, past this frame's end too.
      reused.fill(0x61);
      f.bytes.copy(reused);
      marks.frame(reused);
    } else {
      marks.frame(f.bytes);
    }
    for (const k of f.keys) {
      marks.add(k.at, k.length);
      last.set(f.bytes.toString('latin1', k.at, k.at + k.length), w++);
    }
  }
  const got: number[] = [];
  for (let i = 0; i < writes; i++) if (marks.newest[i] === 1) got.push(i);
  return { got, want: [...last.values()].sort((a, b) => a - b) };
}

t.test('exactly the last write of each key is marked newest', async (t) => {
  const marks = new NewestWrites();
  const next = rng(7);
  for (const writes of [1, 10, 500, 100_000, 300]) {
    const { got, want } = transaction(marks, next, writes);
    t.same(got, want, `${writes} writes: ${want.length} keys`);
  }
});

t.test('frames read one after another into one buffer: still exactly the last write of each key', async (t) => {
  const marks = new NewestWrites();
  const next = rng(11);
  const reused = Buffer.alloc(4096);
  for (const writes of [10, 500, 20_000, 50]) {
    const { got, want } = transaction(marks, next, writes, reused);
    t.same(got, want, `${writes} writes: ${want.length} keys`);
  }
});
