/**
 * The resident cache in front of LMDB (-m): items beyond the quota are still served (from
 * disk), a cached item never outlives a DELETE, FLUSH, expiry or overwrite, and what -m says
 * shows in stats.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const value = (i: number): string => `value-${i}-`.padEnd(200, String.fromCharCode(97 + (i % 26)));

t.test('with -m 1, more items than fit are all served right, and stats show the quota', async (t) => {
  const server = await serverFor(t, { args: ['-m', '1'] });
  const c = await clientFor(t, server.port);
  const n = 8000;
  for (let from = 0; from < n; from += 500) {
    const sets = [];
    for (let i = from; i < from + 500; i++) sets.push({ opcode: Op.SETQ, key: `item-${i}`, extras: setExtras(i, 0), value: value(i) });
    await c.pipeline(...sets, { opcode: Op.NOOP });
  }
  for (let round = 0; round < 2; round++) {
    let wrong = 0;
    for (let from = 0; from < n; from += 500) {
      const gets = [];
      for (let i = from; i < from + 500; i++) gets.push({ opcode: Op.GET, key: `item-${i}`, opaque: i });
      const rs = await c.pipeline(...gets);
      const answers = rs.filter((r) => r.opcode === Op.GET);
      if (answers.length !== 500) wrong += 500 - answers.length;
      for (const r of answers) if (r.status !== St.SUCCESS || r.value.toString() !== value(r.opaque) || r.extras.readUInt32BE(0) !== r.opaque) wrong++;
    }
    t.equal(wrong, 0, `round ${round}: all ${n} items read back right`);
  }
  const s = await c.stats();
  t.equal(s.get('limit_maxbytes'), String(1024 * 1024));
  t.ok(Number(s.get('cache_bytes')) <= 1024 * 1024, `cache_bytes ${s.get('cache_bytes')} within -m`);
  t.ok(Number(s.get('cache_ejections')) > 0, 'the cache ejected items to stay within -m');
  const arena = Number(s.get('cache_arena_bytes'));
  t.ok(arena > 0 && arena % (1024 * 1024) === 0, `committed records sit in whole arena pages (${arena} bytes)`);
  t.equal(s.get('evictions'), '0', 'nothing was evicted: every item is on disk');
  t.equal(s.get('curr_items'), String(n));
  t.equal((await c.stats('settings')).get('maxbytes'), String(1024 * 1024));
});

t.test('a cached item does not survive DELETE, overwrite, FLUSH or expiry', async (t) => {
  const server = await serverFor(t);
  const c = await clientFor(t, server.port);
  const get = async (key: string): Promise<string | number> => {
    const r = await c.call({ opcode: Op.GET, key });
    return r.status === St.SUCCESS ? r.value.toString() : r.status;
  };
  // Let each write commit, so the next read is served from the cache, not the pending write.
  const settle = async (): Promise<void> => {
    for (;;) {
      const s = await c.stats();
      if (s.get('flusher_backlog') === '0') return;
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  for (const k of ['d', 'o', 'f', 'e']) await c.call({ opcode: Op.SET, key: k, extras: setExtras(0, k === 'e' ? 2 : 0), value: `first-${k}` });
  await settle();
  for (const k of ['d', 'o', 'f', 'e']) t.equal(await get(k), `first-${k}`, `${k} read (and cached)`);
  t.ok(Number((await c.stats()).get('cache_items')) >= 4, 'the items are resident');
  await c.call({ opcode: Op.DELETE, key: 'd' });
  await c.call({ opcode: Op.SET, key: 'o', extras: setExtras(0, 0), value: 'second' });
  await settle();
  t.equal(await get('d'), St.KEY_ENOENT, 'deleted');
  t.equal(await get('o'), 'second', 'overwritten');
  await new Promise((r) => setTimeout(r, 3100));
  t.equal(await get('e'), St.KEY_ENOENT, 'expired');
  await c.call({ opcode: Op.FLUSH });
  await settle();
  t.equal(await get('f'), St.KEY_ENOENT, 'flushed');
  t.equal(await get('o'), St.KEY_ENOENT, 'flushed too');
  t.equal((await c.stats()).get('cache_items'), '0', 'FLUSH empties the cache');
});

t.test('with -m 0 and commits held back, a write is read back at once and after its commit', async (t) => {
  // Commits held back long enough that a loaded CI machine still reads before the first one
  // (300 ms, then 2 s were outlasted once each by a parallel run on 2 cores).
  const server = await serverFor(t, { args: ['-m', '0'], env: { LMCACHED_FLUSH_DELAY_MS: '8000' } });
  const c = await clientFor(t, server.port);
  // One pipeline: the connection handles it in order, so the STAT and GETs see the writes
  // uncommitted even when --ack=memory holds the replies until the commit (commits lagging).
  const rs = await c.pipeline(
    { opcode: Op.SET, key: 'w', extras: setExtras(0, 0), value: 'one' },
    { opcode: Op.SET, key: 'w', extras: setExtras(0, 0), value: 'two' },
    { opcode: Op.GET, key: 'w', opaque: 1 },
    { opcode: Op.STAT },
    { opcode: Op.DELETE, key: 'w' },
    { opcode: Op.GET, key: 'w', opaque: 2 },
    { opcode: Op.ADD, key: 'w', extras: setExtras(0, 0), value: 'three' },
  );
  const read = (opaque: number): string | number => {
    const r = rs.find((x) => x.opcode === Op.GET && x.opaque === opaque);
    return r === undefined ? 'no reply' : r.status === St.SUCCESS ? r.value.toString() : r.status;
  };
  t.equal(read(1), 'two', 'the newest uncommitted write');
  t.ok(Number(rs.find((r) => r.opcode === Op.STAT && r.key.toString() === 'unpersisted_bytes')?.value.toString()) > 0, 'the write was not committed yet');
  t.equal(read(2), St.KEY_ENOENT, 'an uncommitted delete hides it');
  t.same(rs.filter((r) => r.opcode !== Op.GET && r.opcode !== Op.STAT && r.opcode !== Op.NOOP).map((r) => r.status), [St.SUCCESS, St.SUCCESS, St.SUCCESS, St.SUCCESS], 'SET, SET, DELETE and ADD succeed');
  // Once committed, nothing stays resident with -m 0, and the value comes from LMDB.
  await until(async () => {
    const st = await c.stats();
    return st.get('unpersisted_bytes') === '0' && st.get('cache_items') === '0';
  }, 'the writes to commit and leave the table');
  t.equal((await c.call({ opcode: Op.GET, key: 'w' })).value.toString(), 'three', 'read from LMDB after the commit');
  t.equal((await c.stats()).get('cache_items'), '0', 'and not kept after that read either');
});

t.test('-m 0 reads every item from LMDB, across a restart', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  let server = await startServer({ dataDir, args: ['-m', '0'] });
  let c = await clientFor(t, server.port);
  await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(3, 0), value: 'on disk' });
  t.equal((await c.call({ opcode: Op.GET, key: 'k' })).value.toString(), 'on disk');
  // Uncommitted, the write is resident; once committed nothing stays with -m 0.
  await until(async () => (await c.stats()).get('cache_items') === '0', 'the committed write to leave the table');
  t.pass('nothing stays resident with -m 0 once committed');
  c.end();
  await server.stop('SIGTERM');
  server = await startServer({ dataDir, args: ['-m', '0'] });
  t.teardown(() => server.stop('SIGKILL'));
  c = await clientFor(t, server.port);
  const r = await c.call({ opcode: Op.GET, key: 'k' });
  t.equal(r.value.toString(), 'on disk', 'served after restart');
  t.equal(r.extras.readUInt32BE(0), 3);
});

t.test('-m 0: stores of items only LMDB holds check and replace them right (CAS, ADD, REPLACE, counts)', async (t) => {
  const server = await serverFor(t, { args: ['-m', '0'] });
  const c = await clientFor(t, server.port);
  await c.call({ opcode: Op.SET, key: 'd', extras: setExtras(1, 0), value: 'first' });
  await until(async () => (await c.stats()).get('cache_items') === '0', 'the write to be in LMDB only');
  const a = await c.call({ opcode: Op.GET, key: 'd' });
  t.equal((await c.call({ opcode: Op.ADD, key: 'd', extras: setExtras(0, 0), value: 'x' })).status, St.KEY_EEXISTS, 'ADD of an item on disk: exists');
  t.equal((await c.call({ opcode: Op.SET, key: 'd', extras: setExtras(0, 0), value: 'x', cas: a.cas + 1n })).status, St.KEY_EEXISTS, 'a wrong CAS against the record on disk');
  t.equal((await c.call({ opcode: Op.GET, key: 'd' })).value.toString(), 'first', 'both left it as it was');
  const good = await c.call({ opcode: Op.SET, key: 'd', extras: setExtras(2, 0), value: 'second', cas: a.cas });
  t.equal(good.status, St.SUCCESS, 'the right CAS replaces it');
  await until(async () => (await c.stats()).get('cache_items') === '0', 'that write to be in LMDB only');
  t.equal((await c.call({ opcode: Op.REPLACE, key: 'd', extras: setExtras(3, 0), value: 'third' })).status, St.SUCCESS, 'REPLACE finds it on disk');
  const got = await c.call({ opcode: Op.GET, key: 'd' });
  t.same([got.value.toString(), got.extras.readUInt32BE(0)], ['third', 3]);
  const stats = await c.stats();
  t.same([stats.get('curr_items'), stats.get('bytes')], ['1', '5'], 'one item of 5 value bytes: the replaced values were counted out');
});

t.test('a delete leaves no entry once LMDB has it: tombstones are dropped, live items kept', async (t) => {
  const server = await serverFor(t, { args: ['-m', '64'] });
  const c = await clientFor(t, server.port);
  const n = 300;
  await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.SETQ, key: `tomb-${i}`, extras: setExtras(0, 0), value: value(i) })), { opcode: Op.NOOP });
  await until(async () => (await c.stats()).get('unpersisted_bytes') === '0', 'the SETs to commit');
  // Half of them deleted: their entries hold tombstones until LMDB applies the deletes.
  await c.pipeline(...Array.from({ length: n / 2 }, (_, i) => ({ opcode: Op.DELETEQ, key: `tomb-${i}` })), { opcode: Op.NOOP });
  await until(async () => (await c.stats()).get('cache_items') === String(n / 2), `the ${n / 2} tombstones to leave the table once applied`);
  const gets = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.GET, key: `tomb-${i}`, opaque: i })));
  const found = gets.filter((r) => r.opcode === Op.GET && r.status === St.SUCCESS).map((r) => r.opaque);
  t.same(found, Array.from({ length: n / 2 }, (_, i) => n / 2 + i), 'the deleted keys are gone, the rest are there');
  t.equal((await c.stats()).get('cache_items'), String(n / 2), 'and reading the deleted keys kept nothing resident');
});
