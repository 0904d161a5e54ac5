/**
 * INCREMENT/DECREMENT and quiet twins: 64-bit wrap, floor at zero, initial value and the
 * 0xffffffff no-create rule, non-numeric values, CAS.
 */
import t from 'tap';
import { Op, St, arithExtras, setExtras } from '../fixtures/frames.js';
import { eachAckMode } from '../fixtures/harness.js';

const MAX = 0xffffffffffffffffn;

for (const [incr, incrq, decr, decrq] of [[Op.INCREMENT, Op.INCREMENTQ, Op.DECREMENT, Op.DECREMENTQ]]) {
  for (const quiet of [false, true]) {
    eachAckMode(t, `arith ${quiet ? 'quiet' : 'loud'}`, async (t, c) => {
      const inc = quiet ? incrq : incr;
      const dec = quiet ? decrq : decr;
      const noCreate = await c.pipeline({ opcode: inc, key: 'n', extras: arithExtras(1n, 5n, 0xffffffff), opaque: 1 });
      t.equal(noCreate[0].status, St.KEY_ENOENT, 'expiry 0xffffffff: a missing key is not created');
      const created = await c.pipeline({ opcode: inc, key: 'n', extras: arithExtras(1n, 5n, 0), opaque: 2 });
      if (quiet) t.equal(created.length, 1);
      else t.equal(created[0].value.readBigUInt64BE(0), 5n, 'a missing key starts at the initial value');
      t.equal((await c.call({ opcode: Op.GET, key: 'n' })).value.toString(), '5', 'stored as decimal text');
      await c.pipeline({ opcode: inc, key: 'n', extras: arithExtras(10n, 0n, 0) });
      t.equal((await c.call({ opcode: Op.GET, key: 'n' })).value.toString(), '15');
      await c.pipeline({ opcode: dec, key: 'n', extras: arithExtras(100n, 0n, 0) });
      t.equal((await c.call({ opcode: Op.GET, key: 'n' })).value.toString(), '0', 'decrement floors at zero');
      await c.call({ opcode: Op.SET, key: 'w', extras: setExtras(0, 0), value: (MAX - 1n).toString() });
      await c.pipeline({ opcode: inc, key: 'w', extras: arithExtras(3n, 0n, 0) });
      t.equal((await c.call({ opcode: Op.GET, key: 'w' })).value.toString(), '1', 'increment wraps at 2^64');
      await c.call({ opcode: Op.SET, key: 's', extras: setExtras(0, 0), value: 'abc' });
      const bad = await c.pipeline({ opcode: inc, key: 's', extras: arithExtras(1n, 0n, 0), opaque: 3 });
      t.equal(bad[0].status, St.DELTA_BADVAL, 'non-numeric value');
      await c.call({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: '18446744073709551616' });
      t.equal((await c.pipeline({ opcode: inc, key: 'big', extras: arithExtras(1n, 0n, 0) }))[0].status, St.DELTA_BADVAL, 'a value over 2^64-1 is not a number');
      const missingDec = await c.pipeline({ opcode: dec, key: 'nope', extras: arithExtras(1n, 0n, 0xffffffff), opaque: 4 });
      t.equal(missingDec[0].status, St.KEY_ENOENT);
    });
  }
}

eachAckMode(t, 'arith keeps flags, honours CAS and returns the new CAS', async (t, c) => {
  const s = await c.call({ opcode: Op.SET, key: 'c', extras: setExtras(77, 0), value: '10' });
  const bad = await c.call({ opcode: Op.INCREMENT, key: 'c', extras: arithExtras(1n, 0n, 0), cas: s.cas + 1n });
  t.equal(bad.status, St.KEY_EEXISTS);
  const ok = await c.call({ opcode: Op.INCREMENT, key: 'c', extras: arithExtras(1n, 0n, 0), cas: s.cas });
  t.equal(ok.status, St.SUCCESS);
  t.equal(ok.value.readBigUInt64BE(0), 11n);
  const g = await c.call({ opcode: Op.GET, key: 'c' });
  t.equal(g.cas, ok.cas, 'the reply CAS is the item CAS');
  t.equal(g.extras.readUInt32BE(0), 77, 'flags survive');
  await c.call({ opcode: Op.SET, key: 'sp', extras: setExtras(0, 0), value: '12 ' });
  t.equal((await c.call({ opcode: Op.DECREMENT, key: 'sp', extras: arithExtras(2n, 0n, 0) })).value.readBigUInt64BE(0), 10n, 'trailing whitespace is fine (strtoull)');
});
