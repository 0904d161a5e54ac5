/**
 * APPEND/PREPEND and quiet twins.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { eachAckMode } from '../fixtures/harness.js';

for (const [cmd, name] of [[Op.APPEND, 'append'], [Op.APPENDQ, 'appendq'], [Op.PREPEND, 'prepend'], [Op.PREPENDQ, 'prependq']] as const) {
  eachAckMode(t, name, async (t, c) => {
    const quiet = cmd === Op.APPENDQ || cmd === Op.PREPENDQ;
    const isAppend = cmd === Op.APPEND || cmd === Op.APPENDQ;
    const missing = await c.pipeline({ opcode: cmd, key: 'm', value: 'x', opaque: 1 });
    t.equal(missing[0].status, St.NOT_STORED, 'missing key: NOT_STORED');
    const s = await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(5, 3600), value: 'mid' });
    const r = await c.pipeline({ opcode: cmd, key: 'k', value: '+', opaque: 2 });
    if (quiet) t.equal(r.length, 1);
    else t.equal(r[0].status, St.SUCCESS);
    const g = await c.call({ opcode: Op.GET, key: 'k' });
    t.equal(g.value.toString(), isAppend ? 'mid+' : '+mid');
    t.equal(g.extras.readUInt32BE(0), 5, 'flags kept');
    t.ok(g.cas !== s.cas, 'new CAS');
    const badCas = await c.pipeline({ opcode: cmd, key: 'k', value: '!', cas: s.cas, opaque: 3 });
    t.equal(badCas[0].status, St.KEY_EEXISTS, 'stale CAS');
    const goodCas = await c.pipeline({ opcode: cmd, key: 'k', value: '!', cas: g.cas, opaque: 4 });
    t.equal(goodCas.length, quiet ? 1 : 2);
  });
}

eachAckMode(t, 'append beyond the item limit is E2BIG and keeps the item', async (t, c) => {
  await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: Buffer.alloc(1024 * 1024 - 10, 1) });
  const r = await c.call({ opcode: Op.APPEND, key: 'k', value: Buffer.alloc(20, 2) });
  t.equal(r.status, St.E2BIG);
  t.equal((await c.call({ opcode: Op.GET, key: 'k' })).value.length, 1024 * 1024 - 10);
});
