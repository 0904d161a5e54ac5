/**
 * Revision seqnos (kv_engine's rule): every mutation of a key, deletion included, takes the
 * key's last revision plus one; a key recreated after its tombstone was purged continues above
 * it (the vBucket's max deleted revision, kept across restarts). Read back over DCP. And a data
 * directory written by the previous format (records without a revision, format version 1)
 * opens as it is: its items read with revision 1 and take 2 on their next change.
 */
import t from 'tap';
import { DcpConsumer } from '../../lib/dcp/consumer.js';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { encodeItemKey } from '../../lib/store/key-codec.js';
import { recordCas, recordDatatype, recordExpiry, recordFlags, recordSeqno, recordState, recordValueLength, recordValueOffset } from '../../lib/store/record.js';
import { RawClient, withClient } from '../fixtures/client.js';
import { Op, St, arithExtras, setExtras, u32 } from '../fixtures/frames.js';
import { vbDetails } from '../fixtures/kv.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

/** Key → revision seqno of its newest version in vBucket 0, over DCP. */
async function revisions(port: number): Promise<Map<string, number>> {
  const high = await withClient(port, async (c) => (await vbDetails(c, 0)).high);
  const out = new Map<string, number>();
  let done = false;
  const c = await DcpConsumer.connect('127.0.0.1', port, {
    mutation: (_vb, _s, key, _v, _f, _e, _c, meta) => void out.set(key.toString(), meta.revSeqno),
    deletion: (_vb, _s, key, _c, meta) => void out.set(key.toString(), meta.revSeqno),
    expiration: (_vb, _s, key, _c, meta) => void out.set(key.toString(), meta.revSeqno),
    streamEnd: () => void (done = true),
  }, { name: 'revisions' });
  await c.stream(0, undefined, BigInt(high));
  await until(() => done, 'the stream to end');
  c.close();
  return out;
}

t.test('every mutation takes the key\'s last revision plus one', async (t) => {
  const s = await startServer({ args: ['--purge-age', '0', '--purge-interval', '1'] });
  t.teardown(() => s.stop('SIGKILL'));
  const c = await RawClient.connect(s.port);
  t.teardown(() => c.end());
  const ok = async (r: Promise<{ status: number }>): Promise<void> => void t.equal((await r).status, St.SUCCESS);
  for (let i = 0; i < 3; i++) await ok(c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: `v${i}` }));
  t.equal((await revisions(s.port)).get('k'), 3, 'three sets: revision 3');
  await ok(c.call({ opcode: Op.APPEND, key: 'k', value: '+' }));
  await ok(c.call({ opcode: Op.TOUCH, key: 'k', extras: u32(100) }));
  await ok(c.call({ opcode: Op.SET, key: 'n', extras: setExtras(0, 0), value: '1' }));
  await ok(c.call({ opcode: Op.INCREMENT, key: 'n', extras: arithExtras(1n, 0n, 0) }));
  let revs = await revisions(s.port);
  t.equal(revs.get('k'), 5, 'APPEND and TOUCH each add one');
  t.equal(revs.get('n'), 2, 'INCREMENT adds one');
  await ok(c.call({ opcode: Op.DELETE, key: 'k' }));
  t.equal((await revisions(s.port)).get('k'), 6, 'the tombstone takes the next revision');
  await ok(c.call({ opcode: Op.ADD, key: 'k', extras: setExtras(0, 0), value: 'again' }));
  t.equal((await revisions(s.port)).get('k'), 7, 'recreated over its tombstone: the next one');

  // Purged tombstone: the recreated key continues above it, across a restart too.
  await ok(c.call({ opcode: Op.SET, key: 'gone', extras: setExtras(0, 0), value: 'x' }));
  await ok(c.call({ opcode: Op.SET, key: 'gone', extras: setExtras(0, 0), value: 'y' }));
  await ok(c.call({ opcode: Op.DELETE, key: 'gone' }));
  await until(async () => !(await revisions(s.port)).has('gone'), 'the purger to remove the tombstone');
  c.end();
  await s.stop('SIGTERM');
  const again = await startServer({ dataDir: s.dataDir });
  t.teardown(() => again.stop('SIGKILL'));
  await withClient(again.port, async (c2) => {
    t.equal((await c2.call({ opcode: Op.SET, key: 'gone', extras: setExtras(0, 0), value: 'back' })).status, St.SUCCESS);
  });
  revs = await revisions(again.port);
  t.equal(revs.get('gone'), 4, 'above the purged tombstone\'s revision 3, after a restart');
});

t.test('a data directory of the previous format (records without revisions) opens as it is', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const first = await startServer({ dataDir });
  await withClient(first.port, async (c) => {
    for (const key of ['a', 'b', 'counter']) t.equal((await c.call({ opcode: Op.SET, key, extras: setExtras(7, 0), value: key === 'counter' ? '10' : `value-${key}` })).status, St.SUCCESS);
  });
  await first.stop('SIGTERM');

  // Rewrite it as the previous build wrote it: format-1 records (28-byte header, no revision)
  // and data format version 1.
  const store = new LmdbStore({ path: dataDir });
  const writes = [];
  for (const key of ['a', 'b', 'counter']) {
    const itemKey = encodeItemKey(0, Buffer.from(key), 0, key.length);
    const rec = Buffer.from(store.getItem(itemKey) as Buffer);
    const old = Buffer.alloc(28 + recordValueLength(rec));
    old[0] = 1;
    old[1] = recordState(rec);
    old[2] = recordDatatype(rec);
    old.writeUInt32BE(recordFlags(rec), 4);
    old.writeUInt32BE(recordExpiry(rec), 8);
    old.writeBigUInt64BE(BigInt(recordCas(rec)), 12);
    old.writeBigUInt64BE(BigInt(recordSeqno(rec)), 20);
    rec.copy(old, 28, recordValueOffset(rec));
    writes.push({ keyString: itemKey.toString('latin1'), record: old, seqno: recordSeqno(rec), prevSeqno: recordSeqno(rec) });
  }
  await store.writeBatch(writes, new Map(), new Map([['formatVersion', 1]]));
  await store.close();

  const s = await startServer({ dataDir });
  t.teardown(() => s.stop('SIGKILL'));
  const c = await RawClient.connect(s.port);
  t.teardown(() => c.end());
  const a = await c.call({ opcode: Op.GET, key: 'a' });
  t.same([a.status, a.value.toString(), a.extras.readUInt32BE(0)], [St.SUCCESS, 'value-a', 7], 'a format-1 record reads');
  t.equal((await revisions(s.port)).get('a'), 1, 'with revision 1');
  t.equal((await c.call({ opcode: Op.APPEND, key: 'a', value: '+more' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.GET, key: 'a' })).value.toString(), 'value-a+more', 'APPEND onto a format-1 record');
  const incr = await c.call({ opcode: Op.INCREMENT, key: 'counter', extras: arithExtras(5n, 0n, 0) });
  t.equal(incr.value.readBigUInt64BE(0), 15n, 'INCREMENT of a format-1 counter');
  t.equal((await c.call({ opcode: Op.TOUCH, key: 'b', extras: u32(100) })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.GET, key: 'b' })).value.toString(), 'value-b', 'TOUCH keeps a format-1 value');
  const revs = await revisions(s.port);
  t.same([revs.get('a'), revs.get('b'), revs.get('counter')], [2, 2, 2], 'each changed once: revision 2');
});
