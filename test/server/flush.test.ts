/**
 * FLUSH and FLUSHQ, immediate and delayed.
 */
import t from 'tap';
import { Op, St, setExtras, u32 } from '../fixtures/frames.js';
import { eachAckMode } from '../fixtures/harness.js';

for (const cmd of [Op.FLUSH, Op.FLUSHQ]) {
  eachAckMode(t, cmd === Op.FLUSH ? 'flush' : 'flushq', async (t, c) => {
    for (const k of ['a', 'b', 'c']) await c.call({ opcode: Op.SET, key: k, extras: setExtras(0, 0), value: k });
    const r = await c.pipeline({ opcode: cmd, opaque: 1 });
    t.equal(r.length, cmd === Op.FLUSHQ ? 1 : 2);
    for (const k of ['a', 'b', 'c']) t.equal((await c.call({ opcode: Op.GET, key: k })).status, St.KEY_ENOENT, `${k} flushed`);
    await c.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'x' });
    t.equal((await c.call({ opcode: Op.GET, key: 'after' })).status, St.SUCCESS, 'items set after a flush live');
    t.equal((await c.call({ opcode: Op.ADD, key: 'a', extras: setExtras(0, 0), value: 'new' })).status, St.SUCCESS, 'ADD over a flushed item');
  });
}

eachAckMode(t, 'delayed flush', async (t, c) => {
  await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: 'a' });
  t.equal((await c.call({ opcode: Op.FLUSH, extras: u32(2) })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.GET, key: 'a' })).status, St.SUCCESS, 'still there before the delay');
  await new Promise((r) => setTimeout(r, 3100));
  t.equal((await c.call({ opcode: Op.GET, key: 'a' })).status, St.KEY_ENOENT, 'gone after the delay');
});
