/**
 * SET/ADD/REPLACE and their quiet twins, with CAS, flags and expiry, over a real socket.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { eachAckMode } from '../fixtures/harness.js';
import type { RawClient } from '../fixtures/client.js';

const get = async (c: RawClient, key: string) => c.call({ opcode: Op.GET, key });

for (const [loud, quiet] of [[Op.SET, Op.SETQ], [Op.ADD, Op.ADDQ], [Op.REPLACE, Op.REPLACEQ]] as const) {
  const name = loud === Op.SET ? 'set' : loud === Op.ADD ? 'add' : 'replace';
  for (const cmd of [loud, quiet]) {
    const isQuiet = cmd === quiet;
    eachAckMode(t, `${name}${isQuiet ? 'q' : ''}`, async (t, c) => {
      const key = `k-${name}`;
      if (loud !== Op.ADD) {
        // REPLACE needs the key to exist; SET does not care.
        const pre = await c.call({ opcode: Op.SET, key, extras: setExtras(0, 0), value: 'old' });
        t.equal(pre.status, St.SUCCESS);
      }
      const res = await c.pipeline({ opcode: cmd, key, extras: setExtras(0xdeadbeef, 0), value: 'hello', opaque: 11 });
      if (isQuiet) {
        t.equal(res.length, 1, 'quiet success sends nothing before the NOOP');
      } else {
        t.equal(res[0].status, St.SUCCESS);
        t.equal(res[0].opaque, 11);
        t.equal(res[0].opcode, cmd);
        t.ok(res[0].cas > 0n, 'a CAS is returned');
      }
      const g = await get(c, key);
      t.equal(g.status, St.SUCCESS);
      t.equal(g.value.toString(), 'hello');
      t.equal(g.extras.readUInt32BE(0), 0xdeadbeef, 'flags are opaque 32 bits');

      // The failing case answers even when quiet.
      const failKey = loud === Op.REPLACE ? `missing-${name}` : key;
      const failing = await c.pipeline({ opcode: cmd, key: failKey, extras: setExtras(0, 0), value: 'x', opaque: 12, cas: loud === Op.SET ? 1n : 0n });
      t.equal(failing.length, 2, 'the error is answered');
      t.equal(failing[0].opaque, 12);
      t.equal(failing[0].status, loud === Op.REPLACE ? St.KEY_ENOENT : St.KEY_EEXISTS);
      t.equal(failing[0].value.toString(), loud === Op.REPLACE ? 'Not found' : 'Data exists for key.');
    });
  }
}

eachAckMode(t, 'CAS semantics', async (t, c) => {
  const a = await c.call({ opcode: Op.SET, key: 'cas', extras: setExtras(0, 0), value: 'v1' });
  const b = await c.call({ opcode: Op.SET, key: 'cas2', extras: setExtras(0, 0), value: 'v1' });
  t.not(a.cas, b.cas, 'every item has a unique CAS');
  const g = await c.call({ opcode: Op.GET, key: 'cas' });
  t.equal(g.cas, a.cas, 'GET returns the stored CAS');
  const bad = await c.call({ opcode: Op.SET, key: 'cas', extras: setExtras(0, 0), value: 'v2', cas: a.cas + 1n });
  t.equal(bad.status, St.KEY_EEXISTS, 'CAS mismatch');
  const good = await c.call({ opcode: Op.SET, key: 'cas', extras: setExtras(0, 0), value: 'v2', cas: a.cas });
  t.equal(good.status, St.SUCCESS, 'CAS match stores');
  t.ok(good.cas > a.cas, 'a new CAS, larger than the old');
  const stale = await c.call({ opcode: Op.REPLACE, key: 'cas', extras: setExtras(0, 0), value: 'v3', cas: a.cas });
  t.equal(stale.status, St.KEY_EEXISTS, 'REPLACE with an old CAS fails');
  const missing = await c.call({ opcode: Op.SET, key: 'nope', extras: setExtras(0, 0), value: 'v', cas: 1234n });
  t.equal(missing.status, St.KEY_ENOENT, 'CAS on a missing key');
  const addCas = await c.call({ opcode: Op.ADD, key: 'cas', extras: setExtras(0, 0), value: 'v4', cas: good.cas });
  t.equal(addCas.status, St.SUCCESS, 'ADD with a CAS acts as CAS (memcached)');
  t.equal((await c.call({ opcode: Op.GET, key: 'cas' })).value.toString(), 'v4');
  const huge = await c.call({ opcode: Op.SET, key: 'cas', extras: setExtras(0, 0), value: 'v', cas: 0xffffffffffffffffn });
  t.equal(huge.status, St.KEY_EEXISTS, 'a CAS beyond 2^53 never matches');
});

eachAckMode(t, 'expiry: relative, absolute and past', async (t, c) => {
  const now = Math.floor(Date.now() / 1000);
  // A TTL of 2, not 1: expiry is in whole seconds, so a 1 s TTL may end a few ms after the SET.
  await c.call({ opcode: Op.SET, key: 'ttl1', extras: setExtras(0, 2), value: 'x' });
  await c.call({ opcode: Op.SET, key: 'abs-future', extras: setExtras(0, now + 3600), value: 'x' });
  await c.call({ opcode: Op.SET, key: 'abs-past', extras: setExtras(0, now - 10), value: 'x' });
  await c.call({ opcode: Op.SET, key: 'thirty-days', extras: setExtras(0, 60 * 60 * 24 * 30), value: 'x' });
  t.equal((await get(c, 'abs-past')).status, St.KEY_ENOENT, 'an absolute time in the past expires at once');
  t.equal((await get(c, 'abs-future')).status, St.SUCCESS);
  t.equal((await get(c, 'thirty-days')).status, St.SUCCESS, '30 days exactly is still relative');
  t.equal((await get(c, 'ttl1')).status, St.SUCCESS);
  await new Promise((r) => setTimeout(r, 3100));
  t.equal((await get(c, 'ttl1')).status, St.KEY_ENOENT, 'a relative TTL expires');
  const add = await c.call({ opcode: Op.ADD, key: 'ttl1', extras: setExtras(0, 0), value: 'again' });
  t.equal(add.status, St.SUCCESS, 'ADD succeeds over an expired item');
});

eachAckMode(t, 'values: empty, binary and at the item limit', async (t, c) => {
  const bin = Buffer.from([0, 1, 2, 255, 13, 10, 0x80]);
  await c.call({ opcode: Op.SET, key: 'bin', extras: setExtras(0, 0), value: bin });
  t.ok((await get(c, 'bin')).value.equals(bin));
  await c.call({ opcode: Op.SET, key: 'empty', extras: setExtras(1, 0), value: '' });
  const e = await get(c, 'empty');
  t.equal(e.status, St.SUCCESS);
  t.equal(e.value.length, 0);
  const big = Buffer.alloc(1024 * 1024, 7);
  const s = await c.call({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: big });
  t.equal(s.status, St.SUCCESS, 'a value of exactly -I bytes is stored');
  t.ok((await get(c, 'big')).value.equals(big));
  const binKey = Buffer.from([0xff, 0x00, 0x20, 0x0a]);
  await c.call({ opcode: Op.SET, key: binKey, extras: setExtras(0, 0), value: 'binary key' });
  t.equal((await c.call({ opcode: Op.GET, key: binKey })).value.toString(), 'binary key', 'keys are arbitrary bytes');
});

// The CAS clock is read once per received chunk (request-clock.ts): writes pipelined into one
// chunk still get distinct, increasing CAS values, and the values follow the wall clock of
// that chunk, not of start-up or of an earlier request.
eachAckMode(t, 'CAS of pipelined writes: unique, increasing, from the time of their chunk', async (t, c) => {
  await new Promise((r) => setTimeout(r, 1200));
  const before = BigInt(Date.now()) * 1000n;
  const n = 200;
  const res = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.SET, key: `clock-${i}`, extras: setExtras(0, 0), value: 'v', opaque: i })));
  const after = BigInt(Date.now()) * 1000n;
  const cas = res.slice(0, n).map((r) => r.cas);
  t.equal(res.slice(0, n).filter((r) => r.status === St.SUCCESS).length, n, 'all stored');
  t.ok(cas.every((v, i) => i === 0 || v > cas[i - 1]), 'each CAS larger than the one before');
  // The server reads the clock after the client's `before` (a few ms of leeway for clock steps).
  t.ok(cas[0] >= before - 5_000n, `the first CAS (${cas[0]}) is from after the chunk was sent (${before} µs)`);
  t.ok(cas[n - 1] <= after + BigInt(n) + 5_000n, `the last CAS (${cas[n - 1]}) is not ahead of the clock (${after} µs)`);
});
