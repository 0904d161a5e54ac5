/**
 * A vBucket state persisted at once (SET_VBUCKET, a replica adopting a failover log) is built
 * from the vBucket's persisted high seqno. If a flusher batch of that vBucket was already on its
 * way to disk, the batch reaches LMDB first and the state written after it said a LOWER high
 * seqno than the items LMDB then held. After a crash, warmup took that state: the vBucket issued
 * those seqnos a second time (two items with one seqno, one of them gone from the seqno index,
 * so a DCP backfill skipped it). The store now never persists a state below the highest seqno
 * it holds for the vBucket.
 *
 * LMCACHED_COMMIT_REPLY_DELAY_MS keeps the batch in flight (sent, not yet known committed) long
 * enough for the SET_VBUCKET to be built in that window every time.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { KvOp, vbDetails } from '../fixtures/kv.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const ARGS = ['--vbuckets', '4', '--ack', 'memory'];
const VB = 1;
const WRITES = 10;
const setVb = (state: number): { opcode: number; vbucket: number; extras: Buffer } => ({ opcode: KvOp.SET_VBUCKET, vbucket: VB, extras: Buffer.from([state]) });

t.test('a state persisted while a batch is in flight never lowers the high seqno on disk', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_COMMIT_REPLY_DELAY_MS: '3000' } });
  t.teardown(() => void a.stop('SIGKILL'));
  const c = await RawClient.connect(a.port);
  const sets = Array.from({ length: WRITES }, (_, i) => ({ opcode: Op.SET, key: `k${i}`, vbucket: VB, extras: setExtras(0, 0), value: `v${i}`, opaque: i }));
  t.ok((await c.pipeline(...sets)).slice(0, WRITES).every((r) => r.status === St.SUCCESS), 'writes acknowledged (--ack=memory)');
  // The batch is taken from the queue and not yet answered: in flight.
  await until(async () => {
    const s = await c.stats();
    return s.get('flusher_backlog') === '0' && Number(s.get('unpersisted_bytes')) > 0;
  }, 'the batch to be in flight');
  const before = await vbDetails(c, VB);
  t.equal(before.high, WRITES, 'seqnos issued');
  t.ok(before.persisted < WRITES, `the in-flight writes are not known persisted (persisted high seqno ${before.persisted}): the state below is built from below them`);
  t.equal((await c.call(setVb(4))).status, St.SUCCESS, 'SET_VBUCKET dead, persisted at once');
  c.end();
  await a.stop('SIGKILL');

  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => void b.stop('SIGKILL'));
  const d = await RawClient.connect(b.port);
  t.teardown(() => d.end());
  t.equal((await vbDetails(d, VB)).high, WRITES, 'after the crash the state covers every seqno LMDB holds');
  t.equal((await d.call(setVb(1))).status, St.SUCCESS, 'active again');
  const r = await d.call({ opcode: Op.SET, key: 'next', vbucket: VB, extras: setExtras(0, 0), value: 'n' });
  t.equal(r.status, St.SUCCESS);
  t.equal((await vbDetails(d, VB)).high, WRITES + 1, 'the next write takes a new seqno, not one an item holds');
  for (let i = 0; i < WRITES; i++) {
    const g = await d.call({ opcode: Op.GET, key: `k${i}`, vbucket: VB });
    if (g.status !== St.SUCCESS || g.value.toString() !== `v${i}`) t.fail(`k${i} kept`);
  }
  await b.stop();
});
