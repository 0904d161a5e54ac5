/**
 * vBuckets and their history over a real socket: states and NOT_MY_VBUCKET, SET/GET/DEL_VBUCKET,
 * HELLO with MUTATION_SEQNO and XERROR, OBSERVE_SEQNO, GET_ALL_VB_SEQNOS, GET_FAILOVER_LOG, the
 * stats groups, and seqnos/CAS across restarts.
 */
import t from 'tap';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { encodeItemKey, userKeyOf } from '../../lib/store/key-codec.js';
import { recordValueOffset } from '../../lib/store/record.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, arithExtras, setExtras, u32, type Req } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { KvOp, failoverLog, hello, vbDetails } from '../fixtures/kv.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';

const setVb = (vbucket: number, state: number): { opcode: number; vbucket: number; extras: Buffer } => ({ opcode: KvOp.SET_VBUCKET, vbucket, extras: Buffer.from([state]) });

t.test('vBucket states and NOT_MY_VBUCKET', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '8'] });
  const c = await clientFor(t, server.port);
  const vbs = await c.stats('vbucket');
  t.equal(vbs.size, 8, 'every vBucket exists on a fresh data dir');
  t.ok([...vbs.values()].every((s) => s === 'active'), 'all active');
  t.equal((await c.call({ opcode: KvOp.GET_VBUCKET, vbucket: 3 })).value.readUInt32BE(0), 1);
  t.equal((await c.call({ opcode: Op.SET, key: 'k', vbucket: 3, extras: setExtras(0, 0), value: 'v3' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.GET, key: 'k', vbucket: 0 })).status, St.KEY_ENOENT, 'vBuckets are separate key spaces');
  t.equal((await c.call({ opcode: Op.GET, key: 'k', vbucket: 8 })).status, St.NOT_MY_VBUCKET, 'beyond --vbuckets');

  for (const [state, name] of [[2, 'replica'], [3, 'pending'], [4, 'dead']] as const) {
    t.equal((await c.call(setVb(3, state))).status, St.SUCCESS, `set ${name}`);
    t.equal((await c.call({ opcode: KvOp.GET_VBUCKET, vbucket: 3 })).value.readUInt32BE(0), state);
    const r = await c.pipeline(
      { opcode: Op.GET, key: 'k', vbucket: 3, opaque: 1 },
      { opcode: Op.SET, key: 'k', vbucket: 3, extras: setExtras(0, 0), value: 'x', opaque: 2 },
      { opcode: Op.DELETE, key: 'k', vbucket: 3, opaque: 3 },
      { opcode: Op.INCREMENT, key: 'n', vbucket: 3, extras: arithExtras(1n, 0n, 0), opaque: 4 },
      { opcode: Op.GETQ, key: 'k', vbucket: 3, opaque: 5 },
    );
    t.same(r.slice(0, -1).map((x) => x.status), [St.NOT_MY_VBUCKET, St.NOT_MY_VBUCKET, St.NOT_MY_VBUCKET, St.NOT_MY_VBUCKET, St.NOT_MY_VBUCKET], `${name}: data commands answer NOT_MY_VBUCKET, quiet ones too`);
  }
  const before = await failoverLog(c, 3);
  const high = (await vbDetails(c, 3)).high;
  t.equal((await c.call(setVb(3, 1))).status, St.SUCCESS, 'active again');
  const after = await failoverLog(c, 3);
  t.equal(after.length, before.length + 1, 'becoming active adds a failover entry');
  t.equal(after[0].seqno, high, 'at the high seqno');
  t.equal((await c.call({ opcode: Op.GET, key: 'k', vbucket: 3 })).value.toString(), 'v3', 'data kept across state changes');
  const bad = await c.call({ opcode: KvOp.SET_VBUCKET, vbucket: 3, extras: Buffer.from([9]) });
  t.equal(bad.status, St.EINVAL, 'an invalid state is EINVAL');
  t.equal((await c.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'and the connection stays');
});

t.test('DEL_VBUCKET removes a vBucket and its data, across restarts', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const args = ['--vbuckets', '4'];
  const a = await startServer({ dataDir: dir, args });
  const c = await RawClient.connect(a.port);
  await c.call({ opcode: Op.SET, key: 'gone', vbucket: 2, extras: setExtras(0, 0), value: 'x' });
  await c.call({ opcode: Op.SET, key: 'stays', vbucket: 1, extras: setExtras(0, 0), value: 'y' });
  t.equal((await c.call({ opcode: KvOp.DEL_VBUCKET, vbucket: 2, value: 'async=0' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: KvOp.GET_VBUCKET, vbucket: 2 })).status, St.NOT_MY_VBUCKET);
  t.equal((await c.call({ opcode: Op.GET, key: 'gone', vbucket: 2 })).status, St.NOT_MY_VBUCKET);
  t.equal((await c.call({ opcode: KvOp.DEL_VBUCKET, vbucket: 2 })).status, St.NOT_MY_VBUCKET, 'deleting twice');
  const st = await c.stats();
  t.equal(st.get('curr_items'), '1', 'curr_items drops the deleted vBucket\'s items');
  t.equal(st.get('bytes'), '1', 'and their bytes');
  c.end();
  await a.stop('SIGTERM');
  const b = await startServer({ dataDir: dir, args });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await clientFor(t, b.port);
  t.equal((await d.call({ opcode: KvOp.GET_VBUCKET, vbucket: 2 })).status, St.NOT_MY_VBUCKET, 'still deleted after a restart');
  t.equal((await d.call({ opcode: Op.GET, key: 'stays', vbucket: 1 })).value.toString(), 'y', 'other vBuckets untouched');
  t.equal((await d.call(setVb(2, 1))).status, St.SUCCESS, 'SET_VBUCKET creates it again');
  t.equal((await d.call({ opcode: Op.GET, key: 'gone', vbucket: 2 })).status, St.KEY_ENOENT, 'empty');
  const log = await failoverLog(d, 2);
  t.equal(log.length, 1, 'with a fresh failover table');
  t.equal(log[0].seqno, 0);
});

t.test('HELLO: MUTATION_SEQNO extras, XERROR context, unknown features ignored', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4'] });
  const c = await clientFor(t, server.port);
  t.same(await hello(c, 0x03, 0x04, 0x07, 0x1234, 0x04), [0x03, 0x04, 0x07], 'accepted features, unknown and duplicate dropped');
  const uuid = (await failoverLog(c, 0))[0].uuid;
  const muts = await c.pipeline(
    { opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: '1' },
    { opcode: Op.ADD, key: 'b', extras: setExtras(0, 0), value: '2' },
    { opcode: Op.REPLACE, key: 'a', extras: setExtras(0, 0), value: '3' },
    { opcode: Op.APPEND, key: 'a', value: '4' },
    { opcode: Op.PREPEND, key: 'a', value: '5' },
    { opcode: Op.INCREMENT, key: 'n', extras: arithExtras(1n, 7n, 0) },
    { opcode: Op.DECREMENT, key: 'n', extras: arithExtras(1n, 0n, 0) },
    { opcode: Op.DELETE, key: 'b' },
    { opcode: Op.SETQ, key: 'q', extras: setExtras(0, 0), value: 'quiet' },
    { opcode: Op.GET, key: 'a' },
  );
  const mutations = muts.slice(0, 8);
  t.ok(mutations.every((r) => r.status === St.SUCCESS && r.extras.length === 16), 'every mutation reply has 16 bytes of extras');
  t.ok(mutations.every((r) => r.extras.readBigUInt64BE(0) === uuid), 'the vbuuid is the newest failover entry');
  t.same(mutations.map((r) => Number(r.extras.readBigUInt64BE(8))), [1, 2, 3, 4, 5, 6, 7, 8], 'seqnos count up by one');
  t.equal(muts[5].value.readBigUInt64BE(0), 7n, 'INCREMENT still returns its value after the extras');
  t.equal(muts[8].extras.length, 4, 'GET replies are unchanged');
  t.equal((await vbDetails(c, 0)).high, 9, 'the quiet SETQ took seqno 9');
  const bad = await c.call({ opcode: KvOp.OBSERVE_SEQNO, value: Buffer.alloc(7) });
  t.equal(bad.status, St.EINVAL);
  t.same(JSON.parse(bad.value.toString()), { error: { context: 'Request value must be of length 8' } }, 'XERROR: JSON context');
  t.same(await hello(c), [], 'a new HELLO resets the features');
  const plain = await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: '1' });
  t.equal(plain.extras.length, 0, 'no extras without MUTATION_SEQNO');
  t.equal((await c.call({ opcode: KvOp.HELLO, key: 'x', value: Buffer.alloc(3) })).status, St.EINVAL, 'odd-length feature list');
});

t.test('OBSERVE_SEQNO, GET_ALL_VB_SEQNOS and seqnos/CAS across restarts', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const args = ['--vbuckets', '4', '--ack', 'persist'];
  const a = await startServer({ dataDir: dir, args });
  let c = await RawClient.connect(a.port);
  let lastCas = 0n;
  for (let i = 0; i < 5; i++) lastCas = (await c.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: 'v' })).cas;
  await c.call({ opcode: Op.SET, key: 'other', vbucket: 2, extras: setExtras(0, 0), value: 'v' });
  await c.call(setVb(3, 2));
  const uuid1 = (await failoverLog(c, 0))[0].uuid;
  const obs = await c.call({ opcode: KvOp.OBSERVE_SEQNO, value: Buffer.from(uuid1.toString(16).padStart(16, '0'), 'hex') });
  t.equal(obs.value[0], 0, 'format 0 for the current vbuuid');
  t.equal(obs.value.readUInt16BE(1), 0);
  t.equal(obs.value.readBigUInt64BE(3), uuid1);
  t.equal(obs.value.readBigUInt64BE(11), 5n, 'last persisted seqno');
  t.equal(obs.value.readBigUInt64BE(19), 5n, 'current seqno');
  const all = await c.call({ opcode: KvOp.GET_ALL_VB_SEQNOS });
  const pairs = (b: Buffer): Array<[number, number]> => Array.from({ length: b.length / 10 }, (_, i) => [b.readUInt16BE(i * 10), Number(b.readBigUInt64BE(i * 10 + 2))]);
  t.same(pairs(all.value), [[0, 5], [1, 0], [2, 1], [3, 0]], 'every alive vBucket and its high seqno');
  t.same(pairs((await c.call({ opcode: KvOp.GET_ALL_VB_SEQNOS, extras: u32(2) })).value), [[3, 0]], 'filtered by state');
  t.equal((await c.call({ opcode: KvOp.GET_ALL_VB_SEQNOS, extras: u32(9) })).status, St.EINVAL);
  c.end();
  await a.stop('SIGKILL');

  const b = await startServer({ dataDir: dir, args });
  t.teardown(() => b.stop('SIGKILL'));
  c = await clientFor(t, b.port);
  const log = await failoverLog(c, 0);
  t.equal(log[1].uuid, uuid1, 'the old entry is kept');
  const failedOver = await c.call({ opcode: KvOp.OBSERVE_SEQNO, value: Buffer.from(uuid1.toString(16).padStart(16, '0'), 'hex') });
  t.equal(failedOver.value[0], 1, 'format 1 ("failed over") for an older vbuuid');
  t.equal(failedOver.value.readBigUInt64BE(3), log[0].uuid, 'the current vbuuid');
  t.equal(failedOver.value.readBigUInt64BE(27), uuid1, 'the old vbuuid');
  t.equal(failedOver.value.readBigUInt64BE(35), 5n, 'where its branch ended');
  t.equal((await c.call({ opcode: KvOp.OBSERVE_SEQNO, value: Buffer.alloc(8, 0x11) })).status, St.KEY_ENOENT, 'unknown vbuuid');
  const next = await c.call({ opcode: Op.SET, key: 'k0', extras: setExtras(0, 0), value: 'after' });
  t.ok(next.cas > lastCas, 'CAS never goes backwards');
  t.equal((await vbDetails(c, 0)).high, 6, 'seqnos continue from the persisted high seqno');
  t.equal((await c.call({ opcode: KvOp.GET_VBUCKET, vbucket: 3 })).value.readUInt32BE(0), 2, 'states persist');
});

t.test('stats vbucket-details, failovers and warmup groups', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '2'] });
  const c = await clientFor(t, server.port);
  await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: 'xyz' });
  const d = await c.stats('vbucket-details 0');
  t.equal(d.get('vb_0'), 'active');
  t.equal(d.get('vb_0:high_seqno'), '1');
  t.equal(d.get('vb_0:num_items'), '1');
  const f = await c.stats('failovers');
  t.equal(f.get('vb_0:num_entries'), '1');
  t.equal(f.get('vb_1:0:seq'), '0');
  t.ok(f.has('vb_1:0:id'));
  t.equal((await c.call({ opcode: Op.STAT, key: 'vbucket-details 7' })).status, St.KEY_ENOENT, 'unknown vBucket');
});

t.test('the seqno index keeps one entry per key, tombstones included', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ['--vbuckets', '2', '--ack', 'persist'] });
  const c = await RawClient.connect(a.port);
  await c.call({ opcode: Op.SET, key: 'k1', extras: setExtras(0, 0), value: '1' }); // 1
  await c.call({ opcode: Op.SET, key: 'k2', extras: setExtras(0, 0), value: '2' }); // 2
  await c.call({ opcode: Op.SET, key: 'k1', extras: setExtras(0, 0), value: '3' }); // 3 supersedes 1
  await c.call({ opcode: Op.DELETE, key: 'k2' }); // 4 supersedes 2 (tombstone)
  await c.call({ opcode: Op.SET, key: 'k3', extras: setExtras(0, 0), value: '5' }); // 5
  c.end();
  await a.stop('SIGTERM');
  const store = new LmdbStore({ path: dir });
  const index = [...store.scanSeqnos(0, 0, 100)].map((e) => [e.seqno, userKeyOf(e.itemKey).toString()]);
  await store.close();
  t.same(index, [[3, 'k1'], [4, 'k2'], [5, 'k3']]);
});

t.test('writes of one key pipelined into one batch leave one index entry and the last value', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ['--vbuckets', '2', '--flush-interval-ms', '200'] });
  const c = await RawClient.connect(a.port);
  const writes = [];
  for (let i = 1; i <= 50; i++) writes.push({ opcode: Op.SETQ, key: i % 2 === 0 ? 'even' : 'odd', extras: setExtras(0, 0), value: String(i) });
  c.send(...writes);
  t.equal((await c.call({ opcode: Op.NOOP })).status, St.SUCCESS);
  // A later batch: its writes are not folded into the first.
  await new Promise((r) => setTimeout(r, 400));
  c.send({ opcode: Op.SETQ, key: 'odd', extras: setExtras(0, 0), value: 'late' });
  t.equal((await c.call({ opcode: Op.GET, key: 'even' })).value.toString(), '50');
  c.end();
  await a.stop('SIGTERM');
  const store = new LmdbStore({ path: dir });
  const index = [...store.scanSeqnos(0, 0, 1000)].map((e) => [e.seqno, userKeyOf(e.itemKey).toString()]);
  const value = (k: string): string => {
    const rec = store.getItem(encodeItemKey(0, Buffer.from(k), 0, k.length));
    return rec === undefined ? '' : rec.subarray(recordValueOffset(rec)).toString();
  };
  const got = { even: value('even'), odd: value('odd') };
  await store.close();
  t.same(index, [[50, 'even'], [51, 'odd']], 'one entry per key: the newest write');
  t.same(got, { even: '50', odd: 'late' });
});

t.test('a FLUSH between two writes of a key in one batch still leaves one index entry', async (t) => {
  // FLUSH empties the resident table under the writes in flight, and new entries reuse its
  // entry numbers: the batch must still see both writes of `k` as one key's.
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ['--vbuckets', '2', '--flush-interval-ms', '300'] });
  const c = await RawClient.connect(a.port);
  const set = (key: string, value: string): Req => ({ opcode: Op.SETQ, key, extras: setExtras(0, 0), value });
  c.send(set('a', '1'), set('k', 'old'), { opcode: Op.FLUSHQ }, set('b', '2'), set('c', '3'), set('k', 'new'));
  t.equal((await c.call({ opcode: Op.GET, key: 'k' })).value.toString(), 'new');
  c.end();
  await a.stop('SIGTERM');
  const store = new LmdbStore({ path: dir });
  const index = [...store.scanSeqnos(0, 0, 1000)].map((e) => userKeyOf(e.itemKey).toString());
  await store.close();
  t.equal(index.filter((k) => k === 'k').length, 1, `one index entry for k (index: ${index.join(' ')})`);
});
