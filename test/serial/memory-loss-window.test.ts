/**
 * Issue 10: with --ack=memory a SIGKILL may lose only the acknowledged writes of the last few
 * milliseconds. Four writers store unique keys one at a time; after 0.6 s the server is
 * SIGKILLed and restarted, and every acknowledged key is read back. No lost write may have been
 * acknowledged more than LOSS_BOUND_MS before the kill. (At --helper-nice 19, the old default,
 * LMDB's commit threads starved and lost writes were 100-200 ms old.)
 *
 * The bound is the 20 ms lag bound plus the commit in flight, which is short only on a machine
 * that is not overloaded; so `npm test` runs test/serial/ alone, after the parallel run.
 */
import t from 'tap';
import net from 'node:net';
import { Op, St, parseResponses, req, setExtras } from '../fixtures/frames.js';
import { withClient } from '../fixtures/client.js';
import { removeDataDir, startServer } from '../fixtures/server.js';

const ROUNDS = 3;
const WRITERS = 4;
const WRITE_MS = 600;
/** The bound asserted here (README promises 20 ms of lag before back pressure; the rest is
 * the commit that was in flight). */
const LOSS_BOUND_MS = 30;

function writer(port: number, id: number, acked: Map<string, number>, stop: { now: boolean }): Promise<void> {
  return new Promise((done) => {
    const s = net.connect(port, '127.0.0.1');
    let i = 0;
    let pending: Buffer = Buffer.alloc(0);
    const send = (): void => {
      if (!stop.now) s.write(req({ opcode: Op.SET, key: `w${id}-${i}`, extras: setExtras(0, 0), value: `v${i}`, opaque: i }));
    };
    s.on('connect', send);
    s.on('data', (d: Buffer) => {
      const { responses, rest } = parseResponses(Buffer.concat([pending, d]));
      pending = rest;
      for (const r of responses) {
        if (r.status === St.SUCCESS) acked.set(`w${id}-${r.opaque}`, performance.now());
        i++;
        send();
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => done());
  });
}

for (let round = 1; round <= ROUNDS; round++) {
  t.test(`round ${round}: SIGKILL under ${WRITERS} writers loses nothing acknowledged more than ${LOSS_BOUND_MS} ms before`, async (t) => {
    const server = await startServer({ args: ['--ack', 'memory'] });
    t.teardown(() => removeDataDir(server.dataDir));
    const acked = new Map<string, number>();
    const stop = { now: false };
    const writers = Array.from({ length: WRITERS }, (_, id) => writer(server.port, id, acked, stop));
    await new Promise((r) => setTimeout(r, WRITE_MS));
    const killedAt = performance.now();
    await server.stop('SIGKILL');
    stop.now = true;
    await Promise.all(writers);
    const again = await startServer({ dataDir: server.dataDir, args: ['--ack', 'memory'] });
    t.teardown(() => again.stop('SIGKILL'));
    const keys = [...acked.keys()];
    t.ok(keys.length > 100, `${keys.length} writes acknowledged`);
    const lost = await withClient(again.port, async (c) => {
      const gets = await c.pipeline(...keys.map((key, i) => ({ opcode: Op.GET, key, opaque: i })));
      return gets.slice(0, keys.length).filter((r) => r.status !== St.SUCCESS).map((r) => keys[r.opaque]);
    });
    const oldest = lost.length === 0 ? 0 : killedAt - Math.min(...lost.map((k) => acked.get(k) as number));
    t.comment(`lost ${lost.length} of ${keys.length}; oldest acknowledged ${oldest.toFixed(1)} ms before the kill`);
    t.ok(oldest <= LOSS_BOUND_MS, `oldest lost write acknowledged ${oldest.toFixed(1)} ms before the kill (bound ${LOSS_BOUND_MS} ms)`);
  });
}
