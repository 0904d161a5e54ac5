/**
 * SIGTERM while 50 clients write in --ack=persist mode: reading stops, the shutdown ends by
 * itself with exit 0 and marks itself clean; no client receives part of a reply; every
 * acknowledged write is there after a restart.
 */
import t from 'tap';
import net from 'node:net';
import { withClient } from '../fixtures/client.js';
import { Op, St, req, setExtras } from '../fixtures/frames.js';
import { removeDataDir, startServer } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const CLIENTS = 50;

interface Writer {
  acked: string[];
  /** Bytes of an incomplete reply left when the connection closed. */
  partial: number;
  closed: Promise<void>;
}

/** Writes keys w<n>-<i> one at a time (each after the previous reply) until the server
 * closes the connection. */
function writer(port: number, n: number): Writer {
  const w: Writer = { acked: [], partial: 0, closed: Promise.resolve() };
  const s = net.connect(port, '127.0.0.1');
  let i = 0;
  let pending = Buffer.alloc(0);
  const send = (): void => {
    s.write(req({ opcode: Op.SET, key: `w${n}-${i}`, extras: setExtras(0, 0), value: `value-${n}-${i}`, opaque: i }));
  };
  s.on('connect', send);
  s.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d]);
    while (pending.length >= 24 && pending.length >= 24 + pending.readUInt32BE(8)) {
      const status = pending.readUInt16BE(6);
      const opaque = pending.readUInt32BE(12);
      pending = pending.subarray(24 + pending.readUInt32BE(8));
      if (status === St.SUCCESS) w.acked.push(`w${n}-${opaque}`);
      i++;
      send();
    }
  });
  s.on('error', () => {});
  w.closed = new Promise((resolve) =>
    s.on('close', () => {
      w.partial = pending.length;
      resolve();
    }),
  );
  return w;
}

t.test('SIGTERM under load with --ack=persist: clean exit, no half reply, no acknowledged write lost', async (t) => {
  const args = ['--ack', 'persist'];
  const server = await startServer({ args });
  t.teardown(() => removeDataDir(server.dataDir));
  const writers = Array.from({ length: CLIENTS }, (_, n) => writer(server.port, n));
  await until(() => writers.every((w) => w.acked.length >= 20), 'every writer to have 20 writes acknowledged');
  const before = writers.map((w) => w.acked.length);
  const exit = await server.stop('SIGTERM');
  await Promise.all(writers.map((w) => w.closed));
  // Reading stops at the SIGTERM: a writer gets the reply to what it had sent and little more
  // (those the server answered before it took the signal). When a commit releasing replies
  // resumed reading, the writers went on by thousands each and the shutdown's wait for its
  // last commit ran out.
  const after = writers.map((w, n) => w.acked.length - before[n]);
  t.ok(after.every((k) => k <= 20), `each writer got at most 20 more replies after the SIGTERM (${Math.max(...after)})`);
  t.same(exit, { code: 0, signal: null }, 'the shutdown ended by itself, exit 0');
  t.match(server.log(), /shutdown complete/);
  t.notMatch(server.log(), /not marked clean/, 'and was marked clean');
  t.same(writers.filter((w) => w.partial > 0).map((w) => w.partial), [], 'no client got part of a reply');

  const acked = writers.flatMap((w) => w.acked);
  const again = await startServer({ dataDir: server.dataDir, args });
  t.teardown(() => again.stop('SIGKILL'));
  t.match(again.log(), /warmup: complete/);
  t.notMatch(again.log(), /unclean shutdown detected/, 'the restart sees a clean shutdown');
  await withClient(again.port, async (c) => {
    // In pipelines of at most 10,000: a fast writer may have had 100k+ writes acknowledged, and
    // spreading that many requests into one call overflowed the stack.
    let lost = 0;
    for (let from = 0; from < acked.length; from += 10_000) {
      const part = acked.slice(from, from + 10_000);
      const gets = await c.pipeline(...part.map((key, i) => ({ opcode: Op.GET, key, opaque: i })));
      lost += gets.slice(0, part.length).filter((r) => r.status !== St.SUCCESS || r.value.toString() !== `value-${part[r.opaque].slice(1)}`).length;
    }
    t.equal(lost, 0, `all ${acked.length} acknowledged writes are there`);
  });
});
