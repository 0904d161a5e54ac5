/**
 * Seeded random input over the network: frames with random opcodes, lengths, extras and bodies
 * (valid headers mixed with garbage) sent in random chunks to a real server. Whatever each
 * connection gets back, the server must survive, other connections must keep working, and
 * data written before must still be there.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, req, setExtras } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { rng } from '../fixtures/random.js';

const ROUNDS = 300;

function randomFrame(next: () => number): Buffer {
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
  const pick = next();
  if (pick < 0.1) return bytes(1 + Math.floor(next() * 64)); // pure garbage
  const opcode = next() < 0.7 ? Math.floor(next() * 0x30) : Math.floor(next() * 256);
  const extras = bytes([0, 0, 4, 8, 20, 48][Math.floor(next() * 6)]);
  const key = bytes(Math.floor(next() * (next() < 0.05 ? 300 : 20)));
  const value = bytes(Math.floor(next() * 200));
  const frame = req({ opcode, extras, key, value, vbucket: next() < 0.8 ? 0 : Math.floor(next() * 2000), opaque: Math.floor(next() * 2 ** 32), cas: next() < 0.9 ? 0n : BigInt(Math.floor(next() * 2 ** 32)) });
  if (next() < 0.1) frame.writeUInt32BE(Math.floor(next() * 2 ** 32), 8); // lie about the body
  if (next() < 0.05) frame[0] = Math.floor(next() * 256);
  return frame;
}

t.test('random frames never take the server down', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '16', '-I', '64k'] });
  const keeper = await clientFor(t, server.port);
  await keeper.call({ opcode: Op.SET, key: 'precious', extras: setExtras(42, 0), value: 'still here' });
  const next = rng(20261124);
  const crashers = join(import.meta.dirname, 'crashers');
  for (let round = 0; round < ROUNDS; round++) {
    const c = await RawClient.connect(server.port);
    const stream = Buffer.concat(Array.from({ length: 1 + Math.floor(next() * 8) }, () => randomFrame(next)));
    for (let at = 0; at < stream.length; ) {
      const n = 1 + Math.floor(next() * 64);
      c.socket.write(stream.subarray(at, at + n));
      at += n;
    }
    // A NOOP at the end: answered if the connection survived its input.
    c.socket.write(req({ opcode: Op.NOOP, opaque: 0xabcdef }));
    const alive = await keeper.call({ opcode: Op.GET, key: 'precious' });
    if (alive.status !== St.SUCCESS || alive.value.toString() !== 'still here' || server.proc.exitCode !== null) {
      mkdirSync(crashers, { recursive: true });
      writeFileSync(join(crashers, `round-${round}.bin`), stream);
      t.fail(`round ${round}: server or data harmed; input saved under test/fuzz/crashers`);
      return;
    }
    c.end();
  }
  t.pass(`${ROUNDS} rounds of random input, the server and its data unharmed`);
  t.match(server.log(), /^(?![\s\S]*internal error)/, 'no handler threw (no "internal error" in the log)');
});
