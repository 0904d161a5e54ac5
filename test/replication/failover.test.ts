/**
 * Unplanned failover between real nodes. A active, B --replica-of A under a write load; B is
 * SIGKILLed, A takes more writes, then A is SIGKILLed too and B restarted. B is promoted
 * (SET_VBUCKET active) and takes writes of its own. A restarted as B's replica
 * (--replica-of B --replica-force) rolls back the tail B never received and then equals B.
 * B restarted later with its stale --replica-of A keeps its active vBuckets and every write.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { KvOp, failoverLog, vbDetails } from '../fixtures/kv.js';
import { caughtUp, content, pairPlaces, startNode, vbHighs, VBUCKETS } from '../fixtures/pair.js';
import { until } from '../fixtures/wait.js';

async function writeBatch(c: RawClient, prefix: string, n: number): Promise<void> {
  const frames = [];
  for (let i = 0; i < n; i++) frames.push({ opcode: Op.SET, key: `${prefix}-${i}`, vbucket: i % VBUCKETS, extras: setExtras(i, 0), value: `${prefix}:${i}` });
  const replies = await c.pipeline(...frames);
  if (!replies.every((r) => r.status === St.SUCCESS)) throw new Error(`${prefix}: a write failed`);
}

t.test('failover: promote the replica, the old active rejoins as its replica and rolls back its tail', async (t) => {
  const { dirA, dirB, pa, pb } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA });
  let b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => b.stop('SIGKILL'));
  const ca = await RawClient.connect(pa);

  for (let round = 0; round < 5; round++) await writeBatch(ca, `load${round}`, 200);
  await caughtUp(pa, pb);

  // B dies; A takes writes only it will ever have, persisted, then dies too.
  await b.stop('SIGKILL');
  await writeBatch(ca, 'tail', 40);
  await until(async () => {
    for (let vb = 0; vb < VBUCKETS; vb++) {
      const d = await vbDetails(ca, vb);
      if (d.persisted !== d.high) return false;
    }
    return true;
  }, 'A to persist its tail');
  for (let vb = 0; vb < VBUCKETS; vb++) {
    const d = await vbDetails(ca, vb);
    t.equal(d.persisted, d.high, `vb ${vb}: A persisted its tail`);
  }
  ca.end();
  await a.stop('SIGKILL');
  b = await startNode(pb, { dataDir: dirB, replicaOf: pa });

  // Promote B and write to it.
  const cb = await RawClient.connect(pb);
  for (let vb = 0; vb < VBUCKETS; vb++) t.equal((await cb.call({ opcode: KvOp.SET_VBUCKET, vbucket: vb, extras: Buffer.from([1]) })).status, St.SUCCESS, `vb ${vb} promoted on B`);
  const logB = await failoverLog(cb, 0);
  t.equal(logB.length, 2, 'B\'s table: its promotion entry over the history it adopted from A');
  const maxReplicated = [...(await content(pb)).values()].reduce((m, x) => (x.cas > m ? x.cas : m), 0n);
  const first = await cb.call({ opcode: Op.SET, key: 'first-on-b', vbucket: 0, extras: setExtras(0, 0), value: 'x' });
  t.ok(first.cas > maxReplicated, `B's first CAS (${first.cas}) is above every CAS it replicated (${maxReplicated})`);
  await writeBatch(cb, 'after', 100);
  t.equal((await cb.call({ opcode: Op.GET, key: 'tail-0', vbucket: 0 })).status, St.KEY_ENOENT, 'B never had A\'s tail');

  // A rejoins as B's replica.
  const a2 = await startNode(pa, { dataDir: dirA, replicaOf: pb, extra: ['--replica-force'] });
  t.teardown(() => a2.stop('SIGKILL'));
  await caughtUp(pb, pa, 'A to follow B');
  const onB = await content(pb);
  const onA = await content(pa);
  t.same([...onA.entries()], [...onB.entries()], 'A equals B exactly');
  t.notOk([...onA.keys()].some((k) => k.includes('tail-')), 'A dropped the tail B never received');
  const statsA = await RawClient.connect(pa);
  const rs = await statsA.stats('replication');
  statsA.end();
  let rollbacks = 0;
  for (let vb = 0; vb < VBUCKETS; vb++) rollbacks += Number(rs.get(`vb_${vb}:rollbacks`));
  t.ok(rollbacks >= VBUCKETS, `A rolled back every vBucket that had a tail (${rollbacks})`);

  // B restarted with its stale flag keeps its role and its writes.
  cb.end();
  await b.stop('SIGTERM');
  b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  await until(() => /vBuckets are active on disk and stay active/.test(b.log()), 'the role conflict to be logged');
  for (const [vb, { state }] of await vbHighs(pb)) t.equal(state, 'active', `vb ${vb} is still active on B`);
  t.same([...(await content(pb)).entries()], [...onB.entries()], 'B discarded nothing');
  const again = await RawClient.connect(pb);
  t.equal((await again.call({ opcode: Op.GET, key: 'after-1', vbucket: 1 })).value.toString(), 'after:1');
  again.end();
});
