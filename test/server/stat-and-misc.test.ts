/**
 * STAT groups, NOOP, VERSION, VERBOSITY, SASL_LIST_MECHS, QUIT and QUITQ.
 */
import t from 'tap';
import { Op, St, setExtras, u32, arithExtras } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import type { RawClient } from '../fixtures/client.js';

const stats = (c: RawClient, group = ''): Promise<Map<string, string>> => c.stats(group);

t.test('general stats count what happened', async (t) => {
  const server = await serverFor(t);
  const c = await clientFor(t, server.port);
  await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: '12345' });
  await c.call({ opcode: Op.SET, key: 'b', extras: setExtras(0, 0), value: '1' });
  await c.call({ opcode: Op.GET, key: 'a' });
  await c.call({ opcode: Op.GET, key: 'zz' });
  await c.call({ opcode: Op.DELETE, key: 'b' });
  await c.call({ opcode: Op.DELETE, key: 'b' });
  await c.call({ opcode: Op.INCREMENT, key: 'n', extras: arithExtras(1n, 0n, 0xffffffff) });
  await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: 'x', cas: 1n });
  const s = await stats(c);
  for (const name of ['pid', 'uptime', 'time', 'version', 'curr_connections', 'total_connections', 'cmd_get', 'cmd_set', 'get_hits', 'get_misses', 'delete_hits', 'delete_misses', 'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses', 'cas_hits', 'cas_misses', 'cas_badval', 'curr_items', 'total_items', 'bytes', 'evictions']) {
    t.ok(s.has(name), `has ${name}`);
  }
  t.equal(s.get('pid'), String(server.proc.pid));
  t.equal(s.get('cmd_get'), '2');
  t.equal(s.get('get_hits'), '1');
  t.equal(s.get('get_misses'), '1');
  t.equal(s.get('cmd_set'), '3');
  t.equal(s.get('delete_hits'), '1');
  t.equal(s.get('delete_misses'), '1');
  t.equal(s.get('incr_misses'), '1');
  t.equal(s.get('cas_badval'), '1');
  t.equal(s.get('curr_items'), '1');
  t.equal(s.get('total_items'), '2');
  t.equal(s.get('bytes'), '5');
  t.equal(s.get('curr_connections'), '1');
  const settings = await stats(c, 'settings');
  t.equal(settings.get('item_size_max'), String(1024 * 1024));
  t.equal(settings.get('maxconns'), '1024');
  t.equal(settings.get('flush_enabled'), 'yes');
  t.equal(settings.get('evictions'), 'off', 'lmcached never evicts');
  const items = await stats(c, 'items');
  t.equal(items.get('items:1:number'), '1');
  await stats(c, 'reset');
  t.equal((await stats(c)).get('cmd_get'), '0', 'stats reset zeroes counters');
  t.same([...(await stats(c, 'detail on')).entries()], [], 'stats detail on: accepted, nothing to report');
  t.equal((await stats(c, 'detail dump')).get('detailed'), 'END\r\n', 'an empty detail dump');
  t.equal((await c.call({ opcode: Op.STAT, key: 'detail bogus' })).status, St.KEY_ENOENT);
  const unknown = await c.call({ opcode: Op.STAT, key: 'nonsense' });
  t.equal(unknown.status, St.KEY_ENOENT, 'unknown group');
});

t.test('noop, version, verbosity, sasl mechs', async (t) => {
  const server = await serverFor(t);
  const c = await clientFor(t, server.port);
  const [noop] = await c.pipeline();
  t.equal(noop.status, St.SUCCESS);
  const v = await c.call({ opcode: Op.VERSION });
  t.match(v.value.toString(), /^1\.6\.18-lmcached-\d+\.\d+\.\d+$/);
  const verb = await c.call({ opcode: Op.VERBOSITY, extras: u32(1) });
  t.equal(verb.status, St.SUCCESS);
  const mechs = await c.call({ opcode: Op.SASL_LIST_MECHS });
  t.equal(mechs.status, St.SUCCESS);
  t.equal(mechs.value.length, 0, 'no mechanisms until auth exists');
});

t.test('quit answers then closes; quitq closes silently; queued replies come first', async (t) => {
  const server = await serverFor(t);
  const a = await clientFor(t, server.port);
  a.send({ opcode: Op.SETQ, key: 'q', extras: setExtras(0, 0), value: 'v' }, { opcode: Op.GET, key: 'q', opaque: 1 }, { opcode: Op.QUIT, opaque: 2 }, { opcode: Op.NOOP, opaque: 3 });
  const got = await a.untilClosed();
  t.same(got.map((r) => r.opaque), [1, 2], 'nothing after QUIT is processed');
  const b = await clientFor(t, server.port);
  b.send({ opcode: Op.GET, key: 'q', opaque: 1 }, { opcode: Op.QUITQ, opaque: 2 });
  const got2 = await b.untilClosed();
  t.same(got2.map((r) => r.opaque), [1]);
  t.equal(got2[0].value.toString(), 'v');
});
