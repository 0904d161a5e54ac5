/**
 * A GET of a resident item reads its record where it lies (item-reads.ts); anything but a live,
 * visible, unexpired record takes the general way. Over a real socket: a resident item that
 * expired, one a FLUSH hides and a deleted one all miss, with the counters memcached keeps and
 * (for the expired one) an expiration issued; a live one is read whole, from the arena and
 * right after its write.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { vbDetails } from '../fixtures/kv.js';
import { until } from '../fixtures/wait.js';

t.test('resident reads: live, expired, flushed, deleted', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4'] });
  const c = await clientFor(t, server.port);
  const big = Buffer.alloc(5000, 0x7a);
  t.equal((await c.call({ opcode: Op.SET, key: 'live', extras: setExtras(7, 0), value: big })).status, St.SUCCESS);
  const fresh = await c.call({ opcode: Op.GET, key: 'live' });
  t.same([fresh.status, fresh.value.equals(big), fresh.extras.readUInt32BE(0)], [St.SUCCESS, true, 7], 'read right after its write (its own Buffer)');
  await until(async () => (await c.stats()).get('unpersisted_bytes') === '0', 'the write to commit');
  await until(async () => Number((await c.stats()).get('cache_arena_bytes')) > 0, 'the record to move to the arena');
  const again = await c.call({ opcode: Op.GET, key: 'live' });
  t.same([again.status, again.value.equals(big), again.extras.readUInt32BE(0)], [St.SUCCESS, true, 7], 'read from the arena page, whole');

  t.equal((await c.call({ opcode: Op.SET, key: 'short', extras: setExtras(0, 1), value: 'x' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.SET, key: 'gone', extras: setExtras(0, 0), value: 'y' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.DELETE, key: 'gone' })).status, St.SUCCESS);
  const before = await vbDetails(c, 0);
  const stats0 = await c.stats();
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await c.call({ opcode: Op.GET, key: 'short' })).status, St.KEY_ENOENT, 'an expired resident item misses');
  t.equal((await c.call({ opcode: Op.GET, key: 'gone' })).status, St.KEY_ENOENT, 'a deleted one misses');
  const stats1 = await c.stats();
  t.equal(Number(stats1.get('get_expired')) - Number(stats0.get('get_expired')), 1, 'get_expired counts the expired one once');
  t.equal(Number(stats1.get('get_misses')) - Number(stats0.get('get_misses')), 2);
  t.equal((await vbDetails(c, 0)).high, before.high + 1, 'the expired read issued one expiration');
  t.equal((await c.call({ opcode: Op.GET, key: 'short' })).status, St.KEY_ENOENT, 'and stays gone');
  t.equal(Number((await c.stats()).get('get_expired')), Number(stats1.get('get_expired')), 'a tombstone is not expired again');

  t.equal((await c.call({ opcode: Op.FLUSH })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.GET, key: 'live' })).status, St.KEY_ENOENT, 'a flushed item misses');
  t.equal((await c.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'the connection stays');
});
