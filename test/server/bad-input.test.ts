/**
 * Every kind of bad input: the memcached status (or a closed connection where memcached closes
 * it), no crash, other connections unaffected, no data lost.
 */
import t, { type Test } from 'tap';
import net from 'node:net';
import { Op, St, req, setExtras, u32 } from '../fixtures/frames.js';
import { RawClient } from '../fixtures/client.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { OPCODES } from '../../protocol/opcodes.js';

t.test('bad input', async (t) => {
  const server = await serverFor(t, { args: ['-I', '64k'] });
  const bystander = await clientFor(t, server.port);
  await bystander.call({ opcode: Op.SET, key: 'keep', extras: setExtras(1, 0), value: 'safe' });

  const stillFine = async (t: Test): Promise<void> => {
    const r = await bystander.call({ opcode: Op.GET, key: 'keep' });
    t.equal(r.value.toString(), 'safe', 'other connection unaffected, data intact');
  };

  const closes = (name: string, bytes: Buffer, expected: number): void => {
    t.test(name, async (t) => {
      const c = await RawClient.connect(server.port);
      c.send(bytes, req({ opcode: Op.NOOP, opaque: 99 }));
      const got = await c.untilClosed();
      t.equal(got.length, 1, 'one reply, then closed');
      t.equal(got[0].status, expected);
      await stillFine(t);
    });
  };

  // A first byte other than 0x80 means the text protocol (memcached's rule), so bad magic is
  // tested after a binary request has fixed the protocol.
  const afterNoop = (frame: Buffer): Buffer => Buffer.concat([req({ opcode: Op.NOOP, opaque: 1 }), frame]);
  closes('bad magic', afterNoop(req({ opcode: Op.GET, key: 'keep', magic: 0x42 })), St.SUCCESS);
  closes('response magic in a request', afterNoop(req({ opcode: Op.GET, key: 'keep', magic: 0x81 })), St.SUCCESS);
  closes('key + extras longer than the body', req({ opcode: Op.GET, key: 'keep', bodyLength: 3 }), St.UNKNOWN_COMMAND);
  closes('body over the hard cap', req({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v', bodyLength: 0x7fffffff }).subarray(0, 24), St.EINVAL);
  closes('key longer than 250 bytes', req({ opcode: Op.GET, key: 'k'.repeat(251) }), St.EINVAL);
  closes('SET without extras', req({ opcode: Op.SET, key: 'k', value: 'v' }), St.EINVAL);
  closes('SET with short extras', req({ opcode: Op.SET, key: 'k', extras: u32(0), value: 'v' }), St.EINVAL);
  closes('SET without a key', req({ opcode: Op.SET, extras: setExtras(0, 0), value: 'v' }), St.EINVAL);
  closes('GET with extras', req({ opcode: Op.GET, key: 'k', extras: u32(0) }), St.EINVAL);
  closes('GET without a key', req({ opcode: Op.GET }), St.EINVAL);
  closes('GET with a value', req({ opcode: Op.GET, key: 'k', value: 'v' }), St.EINVAL);
  closes('INCREMENT with short extras', req({ opcode: Op.INCREMENT, key: 'k', extras: setExtras(0, 0) }), St.EINVAL);
  closes('TOUCH without extras', req({ opcode: Op.TOUCH, key: 'k' }), St.EINVAL);
  closes('APPEND with extras', req({ opcode: Op.APPEND, key: 'k', extras: setExtras(0, 0), value: 'v' }), St.EINVAL);
  closes('NOOP with a body', req({ opcode: Op.NOOP, value: 'x' }), St.EINVAL);
  closes('FLUSH with a key', req({ opcode: Op.FLUSH, key: 'k' }), St.EINVAL);
  closes('VERSION with extras', req({ opcode: Op.VERSION, extras: u32(0) }), St.EINVAL);
  closes('oversized GET body', req({ opcode: Op.GET, key: 'k', value: Buffer.alloc(70 * 1024) }), St.EINVAL);

  t.test('value over -I: E2BIG, the body is skipped, the connection stays', async (t) => {
    const c = await clientFor(t, server.port);
    await c.call({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: 'old' });
    const res = await c.pipeline(
      { opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: Buffer.alloc(64 * 1024 + 1, 1), opaque: 1 },
      { opcode: Op.SETQ, key: 'big2', extras: setExtras(0, 0), value: Buffer.alloc(200 * 1024, 1), opaque: 2 },
      { opcode: Op.APPEND, key: 'keep', value: Buffer.alloc(100 * 1024, 1), opaque: 3 },
      { opcode: Op.GET, key: 'keep', opaque: 4 },
    );
    t.same(res.map((r) => [r.opaque, r.status]), [[1, St.E2BIG], [2, St.E2BIG], [3, St.E2BIG], [4, St.SUCCESS], [0xfeedface, St.SUCCESS]]);
    t.equal(res[0].value.toString(), 'Too large.');
    t.equal((await c.call({ opcode: Op.GET, key: 'big' })).status, St.KEY_ENOENT, 'a failed SET drops the old item (memcached)');
    await stillFine(t);
  });

  t.test('every unassigned opcode: UNKNOWN_COMMAND, the connection stays', async (t) => {
    const c = await clientFor(t, server.port);
    const unknown = Array.from({ length: 256 }, (_, op) => op).filter((op) => OPCODES[op] === undefined);
    const res = await c.pipeline(...unknown.map((op) => ({ opcode: op, key: 'k', extras: u32(1), value: 'body', opaque: op })));
    t.equal(res.length, unknown.length + 1);
    t.ok(res.slice(0, -1).every((r, i) => r.status === St.UNKNOWN_COMMAND && r.opaque === unknown[i] && r.opcode === unknown[i]), `${unknown.length} opcodes answered 0x81 in order`);
    const big = await c.pipeline({ opcode: 0xee, key: 'k', value: Buffer.alloc(100 * 1024), opaque: 7 });
    t.equal(big[0].status, St.UNKNOWN_COMMAND, 'an oversized unknown command is answered and skipped');
    t.equal(big.length, 2);
    await stillFine(t);
  });

  t.test('a client that vanishes mid-frame does no harm', async (t) => {
    const c = await RawClient.connect(server.port);
    c.send(req({ opcode: Op.SET, key: 'half', extras: setExtras(0, 0), value: Buffer.alloc(1000, 3) }).subarray(0, 500));
    c.end();
    const d = await clientFor(t, server.port);
    t.equal((await d.call({ opcode: Op.GET, key: 'half' })).status, St.KEY_ENOENT, 'a partial SET stores nothing');
    await stillFine(t);
  });

  t.test('the connection limit (-c) closes extra connections only', async (t) => {
    const limited = await serverFor(t, { args: ['-c', '2'] });
    const a = await clientFor(t, limited.port);
    const b = await clientFor(t, limited.port);
    const said = await new Promise<string>((resolve) => {
      const s = net.connect(limited.port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
    });
    t.equal(said, 'ERROR Too many open connections\r\n', 'the third connection is told why, as memcached tells it, and closed');
    t.equal((await a.stats()).get('rejected_connections'), '1');
    t.equal((await a.call({ opcode: Op.NOOP })).status, St.SUCCESS);
    t.equal((await b.call({ opcode: Op.NOOP })).status, St.SUCCESS);
  });
});
