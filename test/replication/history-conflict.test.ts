/**
 * A replica never wipes its copy for an active that shares no history with it: A restarted on
 * an empty data directory tells B to roll back to 0, and B, finding no common failover entry,
 * logs the conflict and keeps its data (stats replication: conflict). Restarted with
 * --replica-force, B drops its copy and converges to the new A.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { VBUCKETS, caughtUp, content, freePort, startNode } from '../fixtures/pair.js';
import { removeDataDir, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const GET_REPLICA = 0x83;

async function write(port: number, prefix: string, n: number): Promise<void> {
  const c = await RawClient.connect(port);
  const replies = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.SET, key: `${prefix}-${i}`, vbucket: i % VBUCKETS, extras: setExtras(0, 0), value: `${prefix}${i}` })));
  c.end();
  if (!replies.every((r) => r.status === St.SUCCESS)) throw new Error('a write failed');
}

t.test('an active with no common history cannot wipe a replica, unless --replica-force', async (t) => {
  const [dirA, dirA2, dirB] = [tempDataDir(), tempDataDir(), tempDataDir()];
  t.teardown(() => [dirA, dirA2, dirB].forEach(removeDataDir));
  const [pa, pb] = [await freePort(), await freePort()];
  const a = await startNode(pa, { dataDir: dirA });
  let b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => b.stop('SIGKILL'));
  await write(pa, 'precious', 40);
  await caughtUp(pa, pb);
  await a.stop('SIGKILL');

  // The "active" comes back on an empty data directory.
  const a2 = await startNode(pa, { dataDir: dirA2 });
  t.teardown(() => a2.stop('SIGKILL'));
  await write(pa, 'stranger', 4);
  const r = await RawClient.connect(pb);
  await until(async () => (await r.stats('replication')).get('vb_1:conflict') === '1', 'B to detect the conflict');
  t.match(b.log(), /shares no entry with this copy/, 'the conflict is logged');
  t.equal((await r.call({ opcode: GET_REPLICA, key: 'precious-1', vbucket: 1 })).value.toString(), 'precious1', 'B kept its copy');
  t.equal((await r.stats('replication')).get('vb_1:resyncs'), '0', 'nothing was wiped');
  r.end();

  await b.stop('SIGTERM');
  b = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: ['--replica-force'] });
  await caughtUp(pa, pb, 'B to copy the new active');
  t.same([...(await content(pb)).entries()], [...(await content(pa)).entries()], 'with --replica-force B drops its copy and equals the new active');
});
