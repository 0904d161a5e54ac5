/**
 * FLUSH on the active leaves its replica without the flushed items too: live (the replica
 * follows when the flush happens), after a restart of the replica (the barrier is persisted),
 * and for a replica that was down during the flush (told at stream start).
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { caughtUp, content, pairPlaces, startNode, VBUCKETS } from '../fixtures/pair.js';
import { until } from '../fixtures/wait.js';
import { vbDetails } from '../fixtures/kv.js';

const GET_REPLICA = 0x83;

async function write(c: RawClient, prefix: string, n: number): Promise<void> {
  const replies = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.SET, key: `${prefix}-${i}`, vbucket: i % VBUCKETS, extras: setExtras(0, 0), value: `${prefix}${i}` })));
  if (!replies.every((r) => r.status === St.SUCCESS)) throw new Error('a write failed');
}

async function replicaHas(port: number, key: string, vbucket: number): Promise<boolean> {
  const c = await RawClient.connect(port);
  try {
    return (await c.call({ opcode: GET_REPLICA, key, vbucket })).status === St.SUCCESS;
  } finally {
    c.end();
  }
}

/** Until everything the replica received is on its disk (so a SIGKILL loses nothing). */
async function persistedAll(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  try {
    await until(async () => {
      for (let vb = 0; vb < VBUCKETS; vb++) {
        const d = await vbDetails(c, vb);
        if (d.persisted !== d.high) return false;
      }
      return true;
    }, 'the replica to persist what it received');
  } finally {
    c.end();
  }
}

async function items(port: number): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    return Number((await c.stats()).get('curr_items'));
  } finally {
    c.end();
  }
}

t.test('a FLUSH on the active reaches its replica', async (t) => {
  const { dirA, dirB, pa, pb } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA });
  t.teardown(() => a.stop('SIGKILL'));
  let b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  const c = await RawClient.connect(pa);
  t.teardown(() => c.end());

  await write(c, 'old', 40);
  await caughtUp(pa, pb);
  t.ok(await replicaHas(pb, 'old-1', 1), 'the replica has the items');
  t.equal((await c.call({ opcode: Op.FLUSH })).status, St.SUCCESS);
  await write(c, 'new', 8);
  await caughtUp(pa, pb);
  await until(async () => !(await replicaHas(pb, 'old-1', 1)), 'the flush to reach the replica');
  t.ok(await replicaHas(pb, 'new-1', 1), 'items written after the flush are there');
  t.equal(await items(pb), 8, 'curr_items on the replica counts only those');
  t.same([...(await content(pb)).entries()], [...(await content(pa)).entries()], 'the replica equals the active');

  await persistedAll(pb);
  await b.stop('SIGKILL');
  b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.notOk(await replicaHas(pb, 'old-2', 2), 'still flushed after the replica\'s restart');

  // A replica that is down during a flush learns it when its streams begin again.
  await write(c, 'third', 8);
  await caughtUp(pa, pb);
  await persistedAll(pb);
  await b.stop('SIGKILL');
  t.equal((await c.call({ opcode: Op.FLUSH })).status, St.SUCCESS);
  b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => b.stop('SIGKILL'));
  await until(async () => {
    const s = await RawClient.connect(pb);
    const flushes = Number((await s.stats('replication')).get('replication_flushes'));
    s.end();
    return flushes >= 1;
  }, 'the replica to learn of the flush it missed (stats replication_flushes)');
  t.notOk(await replicaHas(pb, 'third-3', 3), 'a flushed item is gone');
  t.equal(await items(pb), 0, 'nothing is left on the replica');
});
