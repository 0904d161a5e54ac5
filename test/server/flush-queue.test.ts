/**
 * flush-queue.ts: one flush per queued connection per loop turn, and a flush that throws (the
 * server logs uncaught exceptions and keeps running) strands no other connection.
 */
import t from 'tap';
import { setImmediate as turn } from 'node:timers/promises';
import { deferFlush, type Flushable } from '../../lib/server/flush-queue.js';

function conn(onFlush: () => void): Flushable & { flushes: number } {
  const c = {
    flushQueued: false,
    flushes: 0,
    flushOutput(): void {
      c.flushes++;
      onFlush();
    },
  };
  return c;
}

t.test('each queued connection flushes once per turn, however often it is queued', async (t) => {
  const a = conn(() => undefined);
  const b = conn(() => undefined);
  for (let round = 1; round <= 3; round++) {
    deferFlush(a);
    deferFlush(b);
    deferFlush(a);
    await turn();
    await turn();
    t.same([a.flushes, b.flushes], [round, round]);
  }
});

t.test('a turn with fewer connections than the last flushes only its own', async (t) => {
  const all = [1, 2, 3, 4, 5].map(() => conn(() => undefined));
  for (const c of all) deferFlush(c);
  await turn();
  await turn();
  deferFlush(all[3]);
  deferFlush(all[1]);
  await turn();
  await turn();
  t.same(all.map((c) => c.flushes), [1, 2, 1, 2, 1]);
  for (const c of all) deferFlush(c);
  await turn();
  await turn();
  t.same(all.map((c) => c.flushes), [2, 3, 2, 3, 2], 'and a fuller turn after it flushes every one');
});

t.test('a flush that throws: the connections after it still flush, and later turns still work', async (t) => {
  const caught: unknown[] = [];
  const swallow = (err: unknown): void => void caught.push(err);
  // Node reports the throw from the immediate as an uncaught exception, as in the server.
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', swallow);
  t.teardown(() => {
    process.removeListener('uncaughtException', swallow);
    for (const l of listeners) process.on('uncaughtException', l);
  });
  let fail = true;
  const bad = conn(() => {
    if (fail) throw new Error('flush failed');
  });
  const after = [conn(() => undefined), conn(() => undefined), conn(() => undefined)];
  deferFlush(bad);
  for (const c of after) deferFlush(c);
  for (let i = 0; i < 5; i++) await turn();
  t.equal(caught.length, 1, 'the throw reached the uncaught-exception handler');
  t.same(after.map((c) => c.flushes), [1, 1, 1], 'every connection after the throwing one flushed');
  fail = false;
  for (let round = 2; round <= 4; round++) {
    deferFlush(bad);
    for (const c of after) deferFlush(c);
    for (let i = 0; i < 3; i++) await turn();
    t.same([bad.flushes, ...after.map((c) => c.flushes)], [round, round, round, round], `turn ${round}: each flushes once`);
  }
});
