/**
 * Both ways of reading a socket give the same answers: the shared read buffer (onread, the
 * default) and the stream 'data' path it falls back to (LMCACHED_STREAM_READS=1), for requests
 * split anywhere across reads, with other connections writing in between so the shared buffer
 * is overwritten between the pieces of one request.
 */
import t from 'tap';
import { Op, St, req, setExtras } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { rng } from '../fixtures/random.js';

for (const mode of ['onread', 'stream'] as const) {
  t.test(`${mode} reads: split requests on interleaved connections`, async (t) => {
    const server = await serverFor(t, { env: mode === 'stream' ? { LMCACHED_STREAM_READS: '1' } : {} });
    const a = await clientFor(t, server.port);
    const b = await clientFor(t, server.port);
    const next = rng(mode === 'onread' ? 5 : 6);
    const frames: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      frames.push(req({ opcode: Op.SETQ, key: `split-${i}`, extras: setExtras(i, 0), value: `v${i}-`.repeat(1 + (i % 40)), opaque: i }));
      frames.push(req({ opcode: Op.GETK, key: `split-${i}`, opaque: 1000 + i }));
    }
    const stream = Buffer.concat(frames);
    let at = 0;
    let noiseSent = 0;
    while (at < stream.length) {
      const n = 1 + Math.floor(next() * 97);
      a.send(stream.subarray(at, at + n));
      // Another connection's traffic between the pieces: its reads reuse the read buffer.
      b.send({ opcode: Op.SET, key: 'noise', extras: setExtras(0, 0), value: 'x'.repeat(1 + Math.floor(next() * 300)) });
      noiseSent++;
      await new Promise((r) => setTimeout(r, 2));
      at += n;
    }
    const got = await a.read(200);
    let wrong = 0;
    for (let i = 0; i < 200; i++) {
      const r = got[i];
      if (r.status !== St.SUCCESS || r.opaque !== 1000 + i || r.key.toString() !== `split-${i}` || r.value.toString() !== `v${i}-`.repeat(1 + (i % 40))) wrong++;
    }
    t.equal(wrong, 0, 'every GETK answered in order with its own value');
    const noise = await b.read(noiseSent);
    t.ok(noise.every((r) => r.status === St.SUCCESS), `the other connection was served throughout (${noiseSent} SETs)`);
  });
}
