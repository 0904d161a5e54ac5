/**
 * A chunk of pipelined requests is looked at before it is framed (request-prefetch.ts: the
 * engine touches the memory its keys will read). Over a real socket: in one chunk, each request
 * sees the ones before it (a GET after a SET of the same key, a GET after a DELETE), keys in
 * several vBuckets and more keys than are looked at ahead are all answered right, and a bad
 * frame at the chunk's end closes the connection after the good ones, as memcached does, with
 * nothing lost and other connections unaffected. The hashes a chunk's look-ahead made are not
 * used once it is framed: another connection's request read into the same buffer is found.
 */
import t from 'tap';
import { Op, St, req, setExtras } from '../fixtures/frames.js';
import { RawClient } from '../fixtures/client.js';
import { clientFor, serverFor } from '../fixtures/harness.js';

t.test('one chunk of 80 pipelined requests', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4'] });
  const c = await clientFor(t, server.port);
  // Resident items to read and overwrite (random keys spread over the table).
  await c.pipeline(...Array.from({ length: 500 }, (_, i) => ({ opcode: Op.SETQ, key: `old-${i}`, vbucket: i % 4, extras: setExtras(i, 0), value: `was-${i}` })));
  const frames: Buffer[] = [];
  for (let i = 0; i < 20; i++) {
    const vbucket = i % 4;
    frames.push(req({ opcode: Op.GETK, key: `old-${i * 7}`, vbucket: (i * 7) % 4, opaque: 4 * i }));
    frames.push(req({ opcode: Op.SET, key: `old-${i * 7}`, vbucket: (i * 7) % 4, extras: setExtras(1000 + i, 0), value: `now-${i}`, opaque: 4 * i + 1 }));
    frames.push(req({ opcode: Op.GETK, key: `old-${i * 7}`, vbucket: (i * 7) % 4, opaque: 4 * i + 2 }));
    frames.push(req({ opcode: i % 2 === 0 ? Op.DELETE : Op.GETK, key: `new-${i}`, vbucket, opaque: 4 * i + 3 }));
  }
  const chunk = Buffer.concat(frames);
  c.send(chunk);
  const got = await c.read(80);
  for (let i = 0; i < 20; i++) {
    const [before, set, after, other] = got.slice(4 * i, 4 * i + 4);
    t.same([before.opaque, before.status, before.value.toString(), before.extras.readUInt32BE(0)], [4 * i, St.SUCCESS, `was-${i * 7}`, i * 7], `old-${i * 7} read before its SET`);
    t.same([set.opaque, set.status], [4 * i + 1, St.SUCCESS]);
    t.same([after.opaque, after.status, after.value.toString(), after.extras.readUInt32BE(0)], [4 * i + 2, St.SUCCESS, `now-${i}`, 1000 + i], 'and after it, in the same chunk');
    t.same([other.opaque, other.status], [4 * i + 3, St.KEY_ENOENT], `new-${i} absent`);
  }

  const d = await RawClient.connect(server.port);
  d.send(Buffer.concat([req({ opcode: Op.SET, key: 'last', extras: setExtras(0, 0), value: 'kept', opaque: 1 }), req({ opcode: Op.GET, key: 'last', opaque: 2 }), req({ opcode: Op.GET, key: 'last', magic: 0x42 }), req({ opcode: Op.NOOP })]));
  const closing = await d.untilClosed();
  t.same(
    closing.map((r) => [r.opaque, r.status, r.value.toString()]),
    [
      [1, St.SUCCESS, ''],
      [2, St.SUCCESS, 'kept'],
    ],
    'a bad frame after two good ones: their replies, then closed',
  );
  t.equal((await c.call({ opcode: Op.GET, key: 'last' })).value.toString(), 'kept', 'the other connection reads the write');
  t.equal((await c.call({ opcode: Op.GET, key: 'old-7', vbucket: 3 })).value.toString(), 'now-1');
});

t.test("a lone request read into the same buffer after another connection's chunk is hashed anew", async (t) => {
  // The writes stay uncommitted (held back 3 s), so a lookup that missed the resident table
  // would find nothing on disk either: a hash kept from the earlier chunk would answer NOT FOUND.
  const server = await serverFor(t, { env: { LMCACHED_FLUSH_DELAY_MS: '3000' } });
  const a = await clientFor(t, server.port);
  const b = await clientFor(t, server.port);
  await a.pipeline(...['alpha', 'beta', 'gamma', 'delta'].map((key) => ({ opcode: Op.SETQ, key, extras: setExtras(0, 0), value: `v-${key}` })));
  for (let round = 0; round < 5; round++) {
    // A chunk of two STATs of groups that do not exist (answered with no item lookup): looked
    // at ahead, their keys' hashes kept while the chunk is framed, and none of them used.
    a.send(Buffer.concat([req({ opcode: Op.STAT, key: 'alpha', opaque: 1 }), req({ opcode: Op.STAT, key: 'beta', opaque: 2 })]));
    const [first, second] = await a.read(2);
    t.same([first.opaque, first.status, second.opaque, second.status], [1, St.KEY_ENOENT, 2, St.KEY_ENOENT]);
    // Then, on another connection, lone GETs of keys as long as 'alpha', read into the shared
    // read buffer where 'alpha' lay (a lone request is not looked at ahead).
    t.same(await b.call({ opcode: Op.GET, key: 'gamma' }).then((r) => [r.status, r.value.toString()]), [St.SUCCESS, 'v-gamma'], `round ${round}: gamma`);
    t.same(await b.call({ opcode: Op.GET, key: 'delta' }).then((r) => [r.status, r.value.toString()]), [St.SUCCESS, 'v-delta'], `round ${round}: delta`);
  }
});
