/**
 * DEL_VBUCKET answers at once (kv_engine's asynchronous deletion) and removes the vBucket's
 * data from disk behind the reply. lmcached sent that removal to the store only once its
 * flusher was idle, so a vBucket made again under the same id (SET_VBUCKET) and written to in
 * the meantime had its new state and items persisted first, and the late removal then deleted
 * them from LMDB: in memory the new vBucket was fine, after a SIGKILL and restart it was gone
 * (seen once in CI, test/server/write-chunks.test.ts, under load). The removal now goes to the
 * store in the DEL_VBUCKET's own turn, so it is ordered before anything of the new vBucket.
 *
 * LMCACHED_FLUSH_DELAY_MS holds the old vBucket's writes in the flusher, so the old code waited
 * past the new vBucket's commits every time; a synchronous DEL_VBUCKET of another vBucket
 * (async=0 answers once its removal is done, and the store takes requests in order) makes
 * sure the first removal has run before the kill.
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { KvOp, vbDetails } from '../fixtures/kv.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const ARGS = ['--vbuckets', '4', '--ack', 'memory'];
const set = (vbucket: number, key: string, value: string): { opcode: number; vbucket: number; key: string; extras: Buffer; value: string } => ({ opcode: Op.SETQ, vbucket, key, extras: setExtras(0, 0), value });

t.test('a vBucket deleted and made again keeps its new state and items through a crash', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_FLUSH_DELAY_MS: '1500' } });
  const c = await RawClient.connect(a.port);
  const old = Array.from({ length: 20 }, (_, i) => set(3, `old-${i}`, `old value ${i}`));
  const fresh = Array.from({ length: 20 }, (_, i) => set(3, `new-${i}`, `new value ${i}`));
  const rs = await c.pipeline(
    ...old,
    set(2, 'other', 'x'),
    { opcode: KvOp.DEL_VBUCKET, vbucket: 3 },
    { opcode: KvOp.SET_VBUCKET, vbucket: 3, extras: Buffer.from([1]) },
    ...fresh,
  );
  t.same(
    rs.filter((r) => r.opcode !== Op.NOOP).map((r) => [r.opcode, r.status]),
    [
      [KvOp.DEL_VBUCKET, St.SUCCESS],
      [KvOp.SET_VBUCKET, St.SUCCESS],
    ],
    'every SET stored; vBucket 3 deleted and made again',
  );
  await until(async () => (await vbDetails(c, 3)).persisted >= 20, 'the new vBucket 3 writes to commit', 20_000);
  // Ordered after the first removal: once answered, that one has run too.
  const sync = await c.call({ opcode: KvOp.DEL_VBUCKET, vbucket: 2, value: 'async=0' });
  t.equal(sync.status, St.SUCCESS, 'vBucket 2 deleted (async=0: on disk before the reply)');
  await until(async () => (await c.stats()).get('commit_log_unapplied_batches') === '0', 'LMDB to hold every batch');
  c.end();
  await a.stop('SIGKILL');

  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await RawClient.connect(b.port);
  t.teardown(() => d.end());
  const gets = await d.pipeline(...[...old, ...fresh].map((w, i) => ({ opcode: Op.GET, vbucket: 3, key: w.key, opaque: i })));
  t.same(
    gets.filter((r) => r.opcode === Op.GET).map((r) => [r.opaque, r.status, r.status === St.SUCCESS ? r.value.toString() : '']),
    [...old.map((_, i) => [i, St.KEY_ENOENT, '']), ...fresh.map((w, i) => [old.length + i, St.SUCCESS, w.value])],
    'after a SIGKILL and restart: vBucket 3 holds its new items only',
  );
  t.equal((await d.call({ opcode: Op.GET, vbucket: 2, key: 'other' })).status, St.NOT_MY_VBUCKET, 'vBucket 2 stays deleted');
});
