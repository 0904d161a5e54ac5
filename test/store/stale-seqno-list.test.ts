/**
 * StaleSeqnos over a real LMDB environment in a temp directory: the entries it is given go,
 * lowest first and in rounds it sorts once; `forget` keeps a vBucket's entries at or below a
 * seqno (and every other vBucket's) and drops the rest, which stay on disk; entries noted while
 * a round is under way wait for the next round. SeqnoIndexSweep over an index of several
 * chunks removes exactly the entries whose record has another seqno or none.
 */
import t from 'tap';
import { encodeItemKey, encodeSeqnoKey, seqnoKeySeqno } from '../../lib/store/key-codec.js';
import { ItemState, encodeRecord } from '../../lib/store/record.js';
import { SeqnoIndexSweep } from '../../lib/store/seqno-index-sweep.js';
import { openDatabases, type LmdbDatabases } from '../../lib/store/lmdb-databases.js';
import { StaleSeqnos } from '../../lib/store/stale-seqnos.js';
import { removeDataDir, tempDataDir } from '../fixtures/server.js';

function entries(db: LmdbDatabases): string[] {
  return [...db.seqnos.getKeys({})].map((k) => `${k.readUInt16BE(0)}:${seqnoKeySeqno(k)}`);
}

function fill(db: LmdbDatabases, vbids: number[], seqnos: number): void {
  db.env.transactionSync(() => {
    for (const vb of vbids) for (let s = 1; s <= seqnos; s++) db.seqnos.putSync(encodeSeqnoKey(vb, s), Buffer.from(`k${s}`));
  });
}

t.test('noted entries are removed, lowest first, in rounds', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const db = openDatabases(dir, 64 * 1024 * 1024);
  t.teardown(() => db.env.close());
  fill(db, [0, 1, 1023], 10);
  const stale = new StaleSeqnos(db, dir);
  for (const [vb, s] of [[1023, 4], [1, 9], [0, 2], [1, 1], [0, 7]]) stale.add(vb, s);
  t.equal(stale.removeSome(2), 2, 'a round of two');
  t.notOk(entries(db).includes('0:2') || entries(db).includes('0:7'), 'the two lowest (vBucket 0) went first');
  t.ok(entries(db).includes('1:1') && entries(db).includes('1023:4'), 'the others wait');
  stale.add(0, 5);
  t.equal(stale.removeSome(), 3, 'the rest of the sorted round, not the one noted since');
  t.ok(entries(db).includes('0:5'), 'noted during the round: still there');
  stale.removeAll();
  t.equal(stale.size, 0);
  t.same(entries(db).filter((e) => ['0:2', '0:5', '0:7', '1:1', '1:9', '1023:4'].includes(e)), [], 'every noted entry is gone');
  t.equal(entries(db).length, 30 - 6, 'and nothing else');
});

t.test('forget drops a vBucket\'s entries above a seqno, or all of them', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const db = openDatabases(dir, 64 * 1024 * 1024);
  t.teardown(() => db.env.close());
  fill(db, [2, 3], 10);
  const stale = new StaleSeqnos(db, dir);
  for (let s = 1; s <= 10; s += 3) {
    stale.add(2, s);
    stale.add(3, s);
  }
  stale.forget(2, 4);
  t.equal(stale.size, 6, "vBucket 2's entries 7 and 10 dropped");
  stale.forget(3);
  t.equal(stale.size, 2, "vBucket 3's all dropped");
  stale.removeAll();
  const left = entries(db);
  t.notOk(left.includes('2:1') || left.includes('2:4'), 'the kept ones were removed');
  t.ok(['2:7', '2:10', '3:1', '3:4', '3:7', '3:10'].every((e) => left.includes(e)), 'the forgotten ones stay on disk');
});

t.test('a sweep over several chunks removes exactly the entries whose record has another seqno or none', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const db = openDatabases(dir, 256 * 1024 * 1024);
  t.teardown(() => db.env.close());
  // 20,000 entries in two vBuckets (the sweep takes 8,192 a transaction): key k<n> has its
  // record at seqno n; every third seqno is also listed under a key whose record is elsewhere
  // (written again) or absent (gone).
  const stale = new Set<string>();
  db.env.transactionSync(() => {
    for (const vb of [4, 9]) {
      for (let s = 1; s <= 10_000; s++) {
        if (s % 3 === 0) {
          const gone = s % 2 === 0;
          db.seqnos.putSync(encodeSeqnoKey(vb, s), Buffer.from(gone ? `gone${s}` : `k${s - 1}`));
          stale.add(`${vb}:${s}`);
          continue;
        }
        db.seqnos.putSync(encodeSeqnoKey(vb, s), Buffer.from(`k${s}`));
        const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: s, seqno: s, revSeqno: 1 }, null, 0, 0);
        db.items.putSync(encodeItemKey(vb, Buffer.from(`k${s}`), 0, `k${s}`.length), record);
      }
    }
  });
  const sweep = new SeqnoIndexSweep(db, dir);
  t.equal(sweep.leftovers(0), stale.size, 'the leftovers counted: entries beyond one per item');
  sweep.start();
  let steps = 0;
  while (sweep.step()) steps++;
  t.ok(steps >= 2, `several chunks (${steps + 1})`);
  const left = entries(db);
  t.equal(left.length, 20_000 - stale.size, 'as many entries left as items');
  t.same(left.filter((e) => stale.has(e)), [], 'none of the stale ones');
  t.equal(sweep.leftovers(0), 0);
});
