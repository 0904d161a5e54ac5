/**
 * A replica SIGKILLed in the middle of a large backfill resumes from what it persisted (its
 * high seqno and the snapshot it was in), not from 0, is not told to roll back, and converges.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, setExtras } from '../fixtures/frames.js';
import { caughtUp, content, pairPlaces, startNode, VBUCKETS } from '../fixtures/pair.js';
import { until } from '../fixtures/wait.js';

const ITEMS = 40_000;

t.test('a replica killed mid-backfill resumes from its persisted snapshot and converges', async (t) => {
  const { dirA, dirB, pa, pb } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA });
  t.teardown(() => a.stop('SIGKILL'));
  const w = await RawClient.connect(pa);
  t.teardown(() => w.end());
  const value = 'v'.repeat(500);
  for (let from = 0; from < ITEMS; from += 2000) {
    const frames = [];
    for (let i = from; i < from + 2000; i++) frames.push({ opcode: Op.SETQ, key: `item-${i}`, vbucket: i % VBUCKETS, extras: setExtras(0, 0), value });
    frames.push({ opcode: Op.NOOP });
    await w.pipeline(...frames);
  }

  const b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  const r = await RawClient.connect(pb);
  const persisted = async (): Promise<number[]> => {
    const s = await r.stats('vbucket-details');
    return [...Array(VBUCKETS).keys()].map((vb) => Number(s.get(`vb_${vb}:persisted_high_seqno`)));
  };
  const perVb = ITEMS / VBUCKETS;
  await until(async () => (await persisted()).reduce((x, y) => x + y, 0) >= ITEMS / 5, 'B to persist part of the backfill', 60_000);
  const before = await persisted();
  r.end();
  await b.stop('SIGKILL');
  t.ok(before.some((p) => p > 0 && p < perVb), `killed mid-backfill (persisted per vBucket: ${before.join(', ')} of ${perVb})`);

  const again = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => again.stop('SIGKILL'));
  await caughtUp(pa, pb, 'B to finish copying');
  const c = await RawClient.connect(pb);
  const s = await c.stats('replication');
  c.end();
  for (let vb = 0; vb < VBUCKETS; vb++) {
    t.equal(s.get(`vb_${vb}:rollbacks`), '0', `vb ${vb}: no rollback`);
    t.ok(Number(s.get(`vb_${vb}:streamed_from_seqno`)) >= before[vb], `vb ${vb}: resumed from seqno ${s.get(`vb_${vb}:streamed_from_seqno`)}, at or past what it had persisted (${before[vb]})`);
  }
  t.same([...(await content(pb)).entries()], [...(await content(pa)).entries()], 'B equals A exactly');
});
