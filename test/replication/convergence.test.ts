/**
 * A active, B --replica-of A, two real processes: a mixed load on A (sets, deletes, touches,
 * arithmetic, appends, items expiring), half of it before B exists (backfill) and half while B
 * follows (live). B's replica vBuckets then hold exactly A's items: value, flags, expiry, CAS,
 * seqno, revision seqno and tombstones, and B's high seqnos equal A's. On B the replica vBuckets answer
 * GET_REPLICA and refuse ordinary item commands with NOT_MY_VBUCKET.
 */
import { createRequire } from 'node:module';
import t, { type Test } from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, arithExtras, setExtras, u32 } from '../fixtures/frames.js';
import { caughtUp, content, pairPlaces, startNode, VBUCKETS } from '../fixtures/pair.js';

const GET_REPLICA = 0x83;

interface Memjs {
  set(key: string, value: string, opts?: { expires?: number }): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  increment(key: string, by: number, opts: { initial?: number }): Promise<{ value: number | null }>;
  append(key: string, value: string): Promise<boolean>;
  close(): void;
}
// memjs ships no types: load it with require and give it the slice of its API we use.
const memjs = createRequire(import.meta.url)('memjs') as { Client: { create(servers: string, opts: object): Memjs } };

/** A real client's writes (memjs uses vBucket 0). */
async function memjsLoad(port: number, round: string): Promise<void> {
  const mc = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, logger: { log: () => {} } });
  try {
    for (let i = 0; i < 30; i++) await mc.set(`${round}-memjs${i}`, `m${i}`, { expires: i % 3 === 0 ? 3600 : 0 });
    for (let i = 0; i < 30; i += 4) await mc.delete(`${round}-memjs${i}`);
    for (let i = 1; i < 30; i += 5) if (i % 4 !== 0) await mc.append(`${round}-memjs${i}`, '+m');
    for (let i = 0; i < 5; i++) await mc.increment(`${round}-memjs-ctr`, 2, { initial: 1 });
  } finally {
    mc.close();
  }
}

async function load(t: Test, c: RawClient, round: string): Promise<void> {
  const frames = [];
  for (let i = 0; i < 200; i++) frames.push({ opcode: Op.SET, key: `${round}-k${i}`, vbucket: i % VBUCKETS, extras: setExtras(i, i % 7 === 0 ? 3600 : 0), value: `v${i}-${round}` });
  for (let i = 0; i < 20; i++) frames.push({ opcode: Op.SET, key: `${round}-ttl${i}`, vbucket: i % VBUCKETS, extras: setExtras(0, 1), value: 'short' });
  for (let i = 0; i < 200; i += 5) frames.push({ opcode: Op.DELETE, key: `${round}-k${i}`, vbucket: i % VBUCKETS });
  for (let i = 1; i < 200; i += 9) frames.push({ opcode: Op.TOUCH, key: `${round}-k${i}`, vbucket: i % VBUCKETS, extras: u32(7200) });
  for (let i = 2; i < 200; i += 11) frames.push({ opcode: Op.APPEND, key: `${round}-k${i}`, vbucket: i % VBUCKETS, value: '+tail' });
  for (let i = 0; i < 8; i++) for (let n = 0; n < 3; n++) frames.push({ opcode: Op.INCREMENT, key: `${round}-ctr${i}`, vbucket: i % VBUCKETS, extras: arithExtras(5n, 100n, 0) });
  const replies = await c.pipeline(...frames);
  // TOUCH and APPEND on a key deleted just before miss (KEY_ENOENT, NOT_STORED), as they should.
  const unexpected = replies.filter((r) => r.status !== St.SUCCESS && r.status !== St.KEY_ENOENT && r.status !== St.NOT_STORED);
  t.same(unexpected.map((r) => r.status), [], `round ${round}: every write answered as memcached would`);
}

/** GETs every expiring key once it has expired, so A issues the expirations. */
async function expire(t: Test, c: RawClient, round: string): Promise<void> {
  await new Promise((r) => setTimeout(r, 2100));
  for (let i = 0; i < 20; i++) t.equal((await c.call({ opcode: Op.GET, key: `${round}-ttl${i}`, vbucket: i % VBUCKETS })).status, St.KEY_ENOENT);
}

t.test('a replica fed over DCP converges to its active exactly', async (t) => {
  const { dirA, dirB, pa, pb } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA });
  t.teardown(() => a.stop('SIGKILL'));
  const c = await RawClient.connect(pa);
  t.teardown(() => c.end());

  await load(t, c, 'before');
  await memjsLoad(pa, 'before');
  await expire(t, c, 'before');
  const b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => b.stop('SIGKILL'));
  await load(t, c, 'after');
  await memjsLoad(pa, 'after');
  // Expires unseen: nobody reads it on A, so only the clock says it is gone.
  t.equal((await c.call({ opcode: Op.SET, key: 'ghost', vbucket: 1, extras: setExtras(0, 1), value: 'boo' })).status, St.SUCCESS);
  await expire(t, c, 'after');
  await caughtUp(pa, pb);

  const onA = await content(pa);
  const onB = await content(pb);
  t.ok(onA.size > 400, `A holds ${onA.size} keys and tombstones`);
  t.same([...onB.entries()], [...onA.entries()], 'B holds exactly what A holds: values, flags, expiry, CAS, seqnos, revisions, tombstones');
  t.ok([...onB.values()].some((s) => s.rev > 1), 'revision seqnos above 1 were replicated');
  t.ok([...onB.values()].some((s) => s.kind === 'expiration'), 'expirations were replicated as expirations');

  const r = await RawClient.connect(pb);
  t.teardown(() => r.end());
  for (const key of ['after-k1', 'after-k2', 'before-k3', 'after-ctr0', 'after-memjs1', 'after-memjs-ctr']) {
    const vbucket = key.includes('memjs') ? 0 : Number(/\d+$/.exec(key)?.[0]) % VBUCKETS;
    const onActive = await c.call({ opcode: Op.GET, key, vbucket });
    const onReplica = await r.call({ opcode: GET_REPLICA, key, vbucket });
    t.equal(onReplica.status, St.SUCCESS, `GET_REPLICA ${key} on B`);
    t.same([onReplica.value.toString(), onReplica.extras, onReplica.cas], [onActive.value.toString(), onActive.extras, onActive.cas], `${key}: same value, flags and CAS`);
  }
  t.equal((await r.call({ opcode: GET_REPLICA, key: 'after-k0', vbucket: 0 })).status, St.KEY_ENOENT, 'a deleted key is not found on the replica');
  t.equal((await r.call({ opcode: GET_REPLICA, key: 'ghost', vbucket: 1 })).status, St.KEY_ENOENT, 'GET_REPLICA hides an expired item');
  t.equal(onB.get('1/ghost')?.kind, 'mutation', 'without deleting it: the replica waits for the active\'s expiration');
  t.equal((await r.call({ opcode: Op.GET, key: 'after-k1', vbucket: 1 })).status, St.NOT_MY_VBUCKET, 'GET on a replica vBucket: NOT_MY_VBUCKET');
  t.equal((await r.call({ opcode: Op.SET, key: 'x', vbucket: 1, extras: setExtras(0, 0), value: 'y' })).status, St.NOT_MY_VBUCKET, 'SET on a replica vBucket: NOT_MY_VBUCKET');
  t.equal((await c.call({ opcode: GET_REPLICA, key: 'after-k1', vbucket: 1 })).status, St.NOT_MY_VBUCKET, 'GET_REPLICA on an active vBucket: NOT_MY_VBUCKET');

  const stats = await r.stats('replication');
  t.equal(stats.get('replication_state'), 'connected');
  t.equal(stats.get('vb_1:streaming'), '1');
  t.equal(stats.get('vb_1:lag_items'), '0');
  t.equal(stats.get('vb_1:lag_ms'), '0', 'caught up: no lag in milliseconds either');
});
