/**
 * DELETE and DELETEQ, with and without CAS.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { eachAckMode } from '../fixtures/harness.js';

for (const cmd of [Op.DELETE, Op.DELETEQ]) {
  eachAckMode(t, cmd === Op.DELETE ? 'delete' : 'deleteq', async (t, c) => {
    const s = await c.call({ opcode: Op.SET, key: 'd', extras: setExtras(0, 0), value: 'v' });
    const wrongCas = await c.pipeline({ opcode: cmd, key: 'd', cas: s.cas + 1n, opaque: 1 });
    t.equal(wrongCas[0].status, St.KEY_EEXISTS, 'delete with a wrong CAS');
    const ok = await c.pipeline({ opcode: cmd, key: 'd', cas: s.cas, opaque: 2 });
    if (cmd === Op.DELETEQ) t.equal(ok.length, 1, 'quiet success is silent');
    else t.equal(ok[0].status, St.SUCCESS);
    t.equal((await c.call({ opcode: Op.GET, key: 'd' })).status, St.KEY_ENOENT, 'gone');
    const again = await c.pipeline({ opcode: cmd, key: 'd', opaque: 3 });
    t.equal(again[0].status, St.KEY_ENOENT, 'deleting a missing key answers even when quiet');
    t.equal(again[0].opaque, 3);
    const readd = await c.call({ opcode: Op.ADD, key: 'd', extras: setExtras(0, 0), value: 'back' });
    t.equal(readd.status, St.SUCCESS, 'ADD works after DELETE');
  });
}
