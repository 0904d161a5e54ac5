/**
 * GET/GETK/GETQ/GETKQ and TOUCH/GAT/GATK/GATQ/GATKQ: hits, misses, quiet rules, order.
 */
import t from 'tap';
import { Op, St, setExtras, u32 } from '../fixtures/frames.js';
import { eachAckMode } from '../fixtures/harness.js';

eachAckMode(t, 'get family: hits and misses, loud and quiet', async (t, c) => {
  await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(42, 0), value: 'A' });
  await c.call({ opcode: Op.SET, key: 'b', extras: setExtras(43, 0), value: 'B' });
  const res = await c.pipeline(
    { opcode: Op.GET, key: 'a', opaque: 1 },
    { opcode: Op.GETK, key: 'b', opaque: 2 },
    { opcode: Op.GET, key: 'missing', opaque: 3 },
    { opcode: Op.GETK, key: 'missing', opaque: 4 },
    { opcode: Op.GETQ, key: 'a', opaque: 5 },
    { opcode: Op.GETQ, key: 'missing', opaque: 6 },
    { opcode: Op.GETKQ, key: 'b', opaque: 7 },
    { opcode: Op.GETKQ, key: 'missing', opaque: 8 },
  );
  t.same(res.map((r) => r.opaque), [1, 2, 3, 4, 5, 7, 0xfeedface], 'quiet misses are silent, order kept');
  t.same(res.map((r) => r.opcode), [Op.GET, Op.GETK, Op.GET, Op.GETK, Op.GETQ, Op.GETKQ, Op.NOOP], 'replies carry the request opcode');
  t.equal(res[0].value.toString(), 'A');
  t.equal(res[0].extras.readUInt32BE(0), 42);
  t.equal(res[0].key.length, 0, 'GET returns no key');
  t.equal(res[1].key.toString(), 'b', 'GETK returns the key');
  t.equal(res[2].status, St.KEY_ENOENT);
  t.equal(res[2].value.toString(), 'Not found');
  t.equal(res[3].status, St.KEY_ENOENT);
  t.equal(res[3].key.toString(), 'missing', 'GETK miss carries the key');
  t.equal(res[4].value.toString(), 'A');
  t.equal(res[5].key.toString(), 'b');
});

eachAckMode(t, 'touch and gat family', async (t, c) => {
  // A TTL of 2, not 1: expiry is in whole seconds, so a 1 s TTL may end before the TOUCH.
  const s = await c.call({ opcode: Op.SET, key: 't', extras: setExtras(9, 2), value: 'T' });
  const touched = await c.call({ opcode: Op.TOUCH, key: 't', extras: u32(3600), opaque: 1 });
  t.equal(touched.status, St.SUCCESS);
  t.equal(touched.value.length, 0, 'TOUCH returns no value');
  t.equal(touched.extras.readUInt32BE(0), 9, 'TOUCH returns the flags');
  t.equal(touched.cas, s.cas, 'TOUCH keeps the CAS (memcached 1.6)');
  const gat = await c.call({ opcode: Op.GAT, key: 't', extras: u32(3600) });
  t.equal(gat.value.toString(), 'T');
  const gatk = await c.call({ opcode: Op.GATK, key: 't', extras: u32(3600) });
  t.equal(gatk.key.toString(), 't');
  t.equal(gatk.value.toString(), 'T');
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await c.call({ opcode: Op.GET, key: 't' })).status, St.SUCCESS, 'the touch extended the 2 s TTL');
  const q = await c.pipeline(
    { opcode: Op.GATQ, key: 't', extras: u32(0), opaque: 2 },
    { opcode: Op.GATQ, key: 'nope', extras: u32(0), opaque: 3 },
    { opcode: Op.GATKQ, key: 't', extras: u32(0), opaque: 4 },
    { opcode: Op.GATKQ, key: 'nope', extras: u32(0), opaque: 5 },
    { opcode: Op.TOUCH, key: 'nope', extras: u32(0), opaque: 6 },
    { opcode: Op.GAT, key: 'nope', extras: u32(0), opaque: 7 },
  );
  t.same(q.map((r) => r.opaque), [2, 4, 6, 7, 0xfeedface]);
  t.equal(q[0].value.toString(), 'T');
  t.equal(q[1].key.toString(), 't');
  t.equal(q[2].status, St.KEY_ENOENT);
  t.equal(q[3].status, St.KEY_ENOENT);
  await c.call({ opcode: Op.TOUCH, key: 't', extras: u32(1) });
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await c.call({ opcode: Op.GET, key: 't' })).status, St.KEY_ENOENT, 'touch can shorten the TTL too');
});

// Values are copied from the resident arena into the reply word by word up to 128 bytes and by
// a view beyond (protocol/bytes.ts copyWords): every length around those steps comes back byte
// for byte. Under --ack=persist each SET's reply means it is committed, so its GET reads the
// arena page; under --ack=memory some are still in their own Buffers.
eachAckMode(t, 'values of every length around the copy steps come back byte for byte', async (t, c) => {
  const lengths = [0, 1, 2, 3, 4, 5, 7, 8, 9, 31, 32, 33, 63, 64, 65, 99, 100, 101, 127, 128, 129, 130, 150, 200, 1000];
  const valueOf = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n * 11 + 1) & 0xff));
  for (const n of lengths) await c.call({ opcode: Op.SET, key: `len-${n}`, extras: setExtras(n, 0), value: valueOf(n) });
  const res = await c.pipeline(...lengths.map((n, i) => ({ opcode: Op.GETK, key: `len-${n}`, opaque: i + 1 })));
  for (let i = 0; i < lengths.length; i++) {
    const n = lengths[i];
    t.equal(res[i].status, St.SUCCESS, `${n} bytes: found`);
    t.ok(res[i].value.equals(valueOf(n)), `${n} bytes: the same bytes`);
    t.equal(res[i].extras.readUInt32BE(0), n, `${n} bytes: its flags`);
  }
});
