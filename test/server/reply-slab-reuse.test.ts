/**
 * A connection encodes replies into one slab and starts it over once every reply taken from it
 * is out of its hands (response-writer.ts `reuse`). These tests make the cases where replies are
 * still in its hands, and check every byte the client gets:
 * - a client that stops reading while megabytes of GET replies are due: the socket's buffer
 *   fills, the rest waits in Node's stream, and a slab started over too early would overwrite
 *   replies not yet sent;
 * - --ack=persist, where replies wait for their commit (held) while the connection goes on
 *   encoding: LMCACHED_COMMIT_REPLY_DELAY_MS keeps each commit outstanding for a while.
 */
import net from 'node:net';
import t from 'tap';
import { Op, St, parseResponses, req, setExtras, type Res } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';

const KEYS = 300;
const VALUE_LENGTH = 8000;
const valueOf = (i: number): Buffer => Buffer.alloc(VALUE_LENGTH, `${i}:${'abcdefghij'[i % 10]}-`);

/** Reads until `bytes` bytes came (every reply here has a known length, so a reply whose bytes
 * were overwritten cannot stall the count), then parses them. */
function readBytes(socket: net.Socket, bytes: number): Promise<Res[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer): void => {
      chunks.push(d);
      got += d.length;
      if (got >= bytes) {
        socket.off('data', onData);
        resolve(parseResponses(Buffer.concat(chunks)).responses);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed after ${got} of ${bytes} bytes`)));
  });
}

t.test('a client that stops reading gets every GET reply intact once it reads again', async (t) => {
  const server = await serverFor(t);
  const loader = await clientFor(t, server.port);
  for (let i = 0; i < KEYS; i++) loader.send({ opcode: Op.SETQ, key: `k${i}`, extras: setExtras(0, 0), value: valueOf(i) });
  t.equal((await loader.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'loaded');

  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  t.teardown(() => socket.destroy());
  socket.pause();
  // 20 x 300 GETs of 8 KB, each sent on its own (a read, and a flush, each): once the socket's
  // buffers are full, each flush leaves replies waiting in the server's stream while the next
  // requests are encoded. Sent apart so they arrive apart (a condition, not a timing asserted).
  const rounds = 20;
  for (let r = 0; r < rounds; r++) {
    const requests: Buffer[] = [];
    for (let i = 0; i < KEYS; i++) requests.push(req({ opcode: Op.GET, key: `k${i}`, opaque: r * KEYS + i }));
    socket.write(Buffer.concat(requests));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  // While this one is stalled, another connection is served as usual.
  t.equal((await loader.call({ opcode: Op.GET, key: 'k7' })).value.toString(), valueOf(7).toString(), 'others are served meanwhile');
  const replyBytes = 24 + 4 + VALUE_LENGTH;
  const responses = readBytes(socket, rounds * KEYS * replyBytes);
  socket.resume();
  const got = await responses;
  t.equal(got.length, rounds * KEYS, 'every reply came');
  let bad = 0;
  got.forEach((res, n) => {
    const i = n % KEYS;
    if (res.opaque !== n || res.status !== St.SUCCESS || !res.value.equals(valueOf(i))) bad++;
  });
  t.equal(bad, 0, `all ${got.length} replies in order, each value byte for byte`);
});

t.test('--ack=persist: replies held for their commit are not overwritten by later ones', async (t) => {
  const server = await serverFor(t, { args: ['--ack', 'persist'], env: { LMCACHED_COMMIT_REPLY_DELAY_MS: '200' } });
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  t.teardown(() => socket.destroy());
  const n = 3000;
  const frames: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    // A SET, then a GET of the key it wrote: both replies wait behind the SET's commit.
    frames.push(req({ opcode: Op.SET, key: `p${i}`, extras: setExtras(0, 0), value: `value-${i}`, opaque: 2 * i }));
    frames.push(req({ opcode: Op.GET, key: `p${i}`, opaque: 2 * i + 1 }));
    bytes += 24 + 24 + 4 + `value-${i}`.length;
  }
  const replies = readBytes(socket, bytes);
  socket.write(Buffer.concat(frames));
  const got = await replies;
  t.equal(got.length, 2 * n, 'every reply came');
  let bad = 0;
  for (let i = 0; i < n; i++) {
    const set = got[2 * i];
    const get = got[2 * i + 1];
    if (set === undefined || get === undefined) {
      bad++;
      continue;
    }
    if (set.opaque !== 2 * i || set.status !== St.SUCCESS || set.opcode !== Op.SET) bad++;
    if (get.opaque !== 2 * i + 1 || get.status !== St.SUCCESS || get.value.toString() !== `value-${i}`) bad++;
  }
  t.equal(bad, 0, `all ${2 * n} replies in order and intact`);
});
