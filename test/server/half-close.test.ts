/**
 * A client that sends its requests and then shuts down its sending side (half-close, as
 * `printf ... | nc -q` or a batch client does) gets every reply before the server closes,
 * as from memcached: small batches, and batches larger than one socket read.
 */
import net from 'node:net';
import t from 'tap';
import { Op, St, parseResponses, req, setExtras } from '../fixtures/frames.js';
import { serverFor } from '../fixtures/harness.js';
import { KvOp } from '../fixtures/kv.js';

function sendAndHalfClose(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

for (const [name, count] of [
  ['a few requests', 3],
  ['more requests than one read holds (> 64 KiB)', 1500],
] as const) {
  for (const ack of ['memory', 'persist']) {
    t.test(`${name}, then half-close (--ack=${ack}): every reply arrives`, async (t) => {
      const server = await serverFor(t, { args: ['--ack', ack] });
      const frames: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        frames.push(req({ opcode: Op.SET, key: `hc-${i}`, extras: setExtras(i, 0), value: 'v'.repeat(40), opaque: 2 * i }));
        frames.push(req({ opcode: Op.GET, key: `hc-${i}`, opaque: 2 * i + 1 }));
      }
      const { responses, rest } = parseResponses(await sendAndHalfClose(server.port, Buffer.concat(frames)));
      t.equal(rest.length, 0, 'no partial reply');
      t.equal(responses.length, 2 * count, `all ${2 * count} replies before the close`);
      t.ok(
        responses.every((r, i) => r.opaque === i && r.status === St.SUCCESS),
        'in order, all successful',
      );
    });
  }
}

t.test('requests queued behind an asynchronous command are answered before a half-close closes', async (t) => {
  // DEL_VBUCKET with async=0 answers only once its data is off disk, which waits for the held
  // flusher batch: the requests behind it wait in the framer while the client's FIN arrives.
  const server = await serverFor(t, { args: ['--vbuckets', '8'], env: { LMCACHED_FLUSH_DELAY_MS: '300' } });
  const frames = [
    req({ opcode: KvOp.SET_VBUCKET, vbucket: 5, extras: Buffer.from([1]), opaque: 0 }),
    req({ opcode: Op.SET, vbucket: 5, key: 'gone', extras: setExtras(0, 0), value: 'x', opaque: 1 }),
    req({ opcode: KvOp.DEL_VBUCKET, vbucket: 5, value: 'async=0', opaque: 2 }),
  ];
  for (let i = 0; i < 20; i++) {
    frames.push(req({ opcode: Op.SET, key: `after-${i}`, extras: setExtras(0, 0), value: 'y', opaque: 3 + 2 * i }));
    frames.push(req({ opcode: Op.GET, key: `after-${i}`, opaque: 4 + 2 * i }));
  }
  const { responses } = parseResponses(await sendAndHalfClose(server.port, Buffer.concat(frames)));
  t.equal(responses.length, 43, 'the asynchronous command and all 40 requests behind it answered');
  t.ok(
    responses.every((r, i) => r.opaque === i && r.status === St.SUCCESS),
    'in order, all successful',
  );
});
