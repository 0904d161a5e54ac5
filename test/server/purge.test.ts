/**
 * The purger: tombstones older than --purge-age leave the disk (and the seqno index), the purge
 * seqno rises and stream requests from before it roll back to 0; items a FLUSH hid leave too.
 */
import t from 'tap';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { userKeyOf } from '../../lib/store/key-codec.js';
import { RawClient } from '../fixtures/client.js';
import { until } from '../fixtures/wait.js';
import { Op, St, setExtras, u32 } from '../fixtures/frames.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';

t.test('old tombstones and flushed items are purged', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ['--vbuckets', '2', '--ack', 'persist', '--purge-age', '1', '--purge-interval', '1'] });
  const c = await RawClient.connect(a.port);
  await c.call({ opcode: Op.SET, key: 'gone', extras: setExtras(0, 0), value: 'x' }); // vb 0 seqno 1
  await c.call({ opcode: Op.DELETE, key: 'gone' }); // 2: tombstone
  await c.call({ opcode: Op.SET, key: 'flushed', vbucket: 1, extras: setExtras(0, 0), value: 'z' });
  await c.call({ opcode: Op.FLUSH }); // every vBucket, as memcached's flush_all
  await c.call({ opcode: Op.SET, key: 'kept', extras: setExtras(0, 0), value: 'y' }); // 3
  await c.call({ opcode: Op.SET, key: 'after-flush', vbucket: 1, extras: setExtras(0, 0), value: 'w' });
  await until(async () => Number((await c.stats()).get('purged')) >= 2, 'the purger', 20_000);
  const d = await c.stats('vbucket-details 0');
  t.equal(d.get('vb_0:purge_seqno'), '2', 'the purge seqno is the purged tombstone\'s seqno');
  t.equal((await c.call({ opcode: Op.GET, key: 'gone' })).status, St.KEY_ENOENT);
  t.equal((await c.call({ opcode: Op.GET, key: 'after-flush', vbucket: 1 })).value.toString(), 'w', 'items after the flush stay');

  const open = await c.call({ opcode: 0x50, key: 'p', extras: Buffer.concat([u32(0), u32(1)]) });
  t.equal(open.status, St.SUCCESS);
  const streamReq = (start: bigint): Buffer => {
    const b = Buffer.alloc(48);
    b.writeBigUInt64BE(start, 8);
    b.writeBigUInt64BE(0xffffffffffffffffn, 16);
    return b;
  };
  const uuid = (await c.call({ opcode: 0x96 })).value.readBigUInt64BE(0);
  const ex = streamReq(1n);
  ex.writeBigUInt64BE(uuid, 24);
  ex.writeBigUInt64BE(1n, 32);
  ex.writeBigUInt64BE(1n, 40);
  const rb = await c.call({ opcode: 0x53, extras: ex });
  t.equal(rb.status, 0x23, 'a consumer at seqno 1 missed the purged deletion: rollback');
  t.equal(rb.value.readBigUInt64BE(0), 0n, 'to 0');
  c.end();
  await a.stop('SIGTERM');

  const store = new LmdbStore({ path: dir });
  const index = [...store.scanSeqnos(0, 0, 100)].map((e) => [e.seqno, userKeyOf(e.itemKey).toString()]);
  const vb1 = [...store.scanSeqnos(1, 0, 100)].map((e) => userKeyOf(e.itemKey).toString());
  await store.close();
  t.same(index, [[3, 'kept']], 'the tombstone and its index entry are gone from disk');
  t.same(vb1, ['after-flush'], 'the flushed item is gone from disk');
});
