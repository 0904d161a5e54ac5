/**
 * Text-protocol writes (classic and meta) are writes like any other: they get seqnos in
 * vBucket 0, appear in the change stream, reach a replica, and read back over the binary
 * protocol; binary writes to vBucket 0 read back over text.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { exchange } from '../fixtures/memcached.js';
import { caughtUp, content, startPair } from '../fixtures/pair.js';

t.test('text writes reach the change stream and the replica; protocols read each other\'s keys', async (t) => {
  const { pa, pb } = await startPair(t);
  const text = 'set tx-set 5 0 3\r\nabc\r\nms tx-ms 2 F7\r\nhi\r\nset tx-n 0 0 1\r\n1\r\nincr tx-n 41\r\nma tx-n D8\r\nset tx-gone 0 0 1\r\nx\r\ndelete tx-gone\r\nappend tx-set 0 0 1\r\nd\r\n';
  t.equal(await exchange(pa, text), 'STORED\r\nHD\r\nSTORED\r\n42\r\nHD\r\nSTORED\r\nDELETED\r\nSTORED\r\n');
  const c = await RawClient.connect(pa);
  t.teardown(() => c.end());
  t.equal((await c.call({ opcode: Op.SET, key: 'bin-key', vbucket: 0, extras: setExtras(3, 0), value: 'from binary' })).status, St.SUCCESS);
  const got = await c.call({ opcode: Op.GET, key: 'tx-set', vbucket: 0 });
  t.same([got.status, got.value.toString(), got.extras.readUInt32BE(0)], [St.SUCCESS, 'abcd', 5], 'a text write read over binary (vBucket 0)');
  t.equal(await exchange(pa, 'get bin-key\r\n'), 'VALUE bin-key 3 11\r\nfrom binary\r\nEND\r\n', 'a binary write read over text');

  await caughtUp(pa, pb);
  const active = await content(pa);
  const replica = await content(pb);
  t.same(replica, active, 'the replica holds exactly what the active holds');
  const mine = [...active].filter(([k]) => k.startsWith('0/tx-'));
  t.same(mine.map(([k, s]) => [k, s.kind, s.value]), [
    ['0/tx-gone', 'deletion', null],
    ['0/tx-ms', 'mutation', 'hi'],
    ['0/tx-n', 'mutation', '50'],
    ['0/tx-set', 'mutation', 'abcd'],
  ], 'every text write is in vBucket 0\'s change stream, the deletion as a tombstone');
  t.equal(active.get('0/tx-ms')?.flags, 7, 'ms F7 is the item\'s flags on the stream');
});
