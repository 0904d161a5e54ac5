/**
 * The scenario the warmup order exists for, end to end with real processes and SIGKILL:
 *  1. Server A (--ack=memory, flusher held back after a clean restart) streams vBucket 0 to a consumer, which receives
 *     seqnos beyond what A persisted (the unpersisted tail).
 *  2. A is SIGKILLed and restarted; warmup adds a failover entry at the persisted high seqno and
 *     expires more items than the tail (new seqnos covering the consumer's), then is killed once
 *     those expirations are persisted.
 *  3. Restarted normally, A must tell the consumer resuming with its old vbuuid and seqno to
 *     ROLL BACK to the persisted seqno; after rolling back and resuming, the consumer's copy
 *     equals the server's data.
 *  4. With LMCACHED_WARMUP_LEGACY_ORDER=1 the entry is lost, the consumer is not told to roll
 *     back, and its copy diverges: the test asserts that, so the check is shown able to fail.
 */
import t, { type Test } from 'tap';
import { DcpConsumer, type VbPosition } from '../../lib/dcp/consumer.js';
import { RawClient } from '../fixtures/client.js';
import { Copy } from '../fixtures/copy.js';
import { until } from '../fixtures/wait.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { vbDetails } from '../fixtures/kv.js';
import { removeDataDir, runToExit, startServer, tempDataDir, type ServerHandle } from '../fixtures/server.js';

const ARGS = ['--vbuckets', '4'];
const KEEP = 10;
const EXPIRING = 15;
const TAIL = 5;
const TTL = 6;

async function details(port: number): Promise<{ high: number; persisted: number }> {
  const c = await RawClient.connect(port);
  try {
    return await vbDetails(c, 0);
  } finally {
    c.end();
  }
}

/** What a fresh consumer reading the whole vBucket from 0 ends up with: the server's data. */
async function serverState(server: ServerHandle): Promise<Map<string, string>> {
  const truth = new Copy();
  const high = (await details(server.port)).high;
  const c = await DcpConsumer.connect('127.0.0.1', server.port, truth.events(), { name: 'truth' });
  await c.stream(0);
  await until(() => (c.positions.get(0)?.seqno ?? 0) >= high, 'the truth stream to catch up');
  c.close();
  return truth.state();
}

interface Outcome {
  persistedAtCrash: number;
  highAtCrash: number;
  rolledBackTo: number[];
  copy: Map<string, string>;
  server: Map<string, string>;
  getsAgree: boolean;
}

async function scenario(t: Test, legacy: boolean): Promise<Outcome> {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const hookEnv: Record<string, string> = legacy ? { LMCACHED_WARMUP_LEGACY_ORDER: '1' } : {};

  // 1. The first items are written and persisted by a run without a hold, stopped cleanly. TTL
  //    leaves the clean restart below seconds before they expire.
  const first = await startServer({ dataDir: dir, args: ARGS, env: hookEnv });
  const w0 = await RawClient.connect(first.port);
  for (let i = 0; i < KEEP; i++) await w0.call({ opcode: Op.SET, key: `keep-${i}`, extras: setExtras(0, 0), value: `k${i}` });
  for (let i = 0; i < EXPIRING; i++) await w0.call({ opcode: Op.SET, key: `ttl-${i}`, extras: setExtras(0, TTL), value: `e${i}` });
  const expireAt = Date.now() + TTL * 1000 + 1100;
  w0.end();
  await first.stop('SIGTERM');

  // Server A again, its flusher held back long enough for the tail to stay unpersisted however
  // slow the machine; a consumer follows vBucket 0.
  const a = await startServer({ dataDir: dir, args: ARGS, env: { ...hookEnv, LMCACHED_FLUSH_DELAY_MS: '20000' } });
  const w = await RawClient.connect(a.port);
  const before = await details(a.port);
  t.equal(before.persisted, KEEP + EXPIRING, 'the first items are persisted and none has expired yet');
  const copy = new Copy();
  const consumer = await DcpConsumer.connect('127.0.0.1', a.port, copy.events(), { name: 'replica', bufferSize: 64 * 1024 });
  await consumer.stream(0);
  // One pipeline: with --ack=memory a write is acknowledged before its commit only while the
  // oldest uncommitted write is younger than 20 ms; sequential writes on a slow machine would
  // wait for the held commit and persist the tail.
  await w.pipeline(...Array.from({ length: TAIL }, (_, i) => ({ opcode: Op.SET, key: `tail-${i}`, extras: setExtras(0, 0), value: `t${i}` })));
  const high = (await details(a.port)).high;
  await until(() => copy.highSeqno >= high, 'the consumer to receive the unpersisted tail');
  // Read again right before the kill: the tail must still be unpersisted (the flusher is held
  // for 20 s), or the scenario would not test anything.
  const atCrash = await details(a.port);
  t.equal(atCrash.high - atCrash.persisted, TAIL, `the consumer saw ${TAIL} seqnos A had not persisted`);
  const position = { ...(consumer.positions.get(0) as VbPosition) };
  w.end();
  await a.stop('SIGKILL');
  consumer.close();

  // 2. Restart: warmup adds the failover entry and expires more items than the tail, then dies
  //    once more expirations than the tail are persisted.
  await new Promise((r) => setTimeout(r, Math.max(0, expireAt - Date.now()))); // every TTL item has expired
  const crash = await runToExit({ dataDir: dir, args: ARGS, env: { ...hookEnv, LMCACHED_CRASH_AFTER_EXPIRIES: String(TAIL + 1) } });
  t.match(crash.log, /test hook: SIGKILL \d+ warmup expiries persisted/, 'the warmup run died after persisting its expirations');

  // 3. Restart normally; the consumer resumes with its old vbuuid and seqno.
  const b = await startServer({ dataDir: dir, args: ARGS, env: hookEnv });
  t.teardown(() => b.stop('SIGKILL'));
  const resumed = await DcpConsumer.connect('127.0.0.1', b.port, copy.events(), { name: 'replica-again', bufferSize: 64 * 1024 });
  await resumed.stream(0, position);
  const finalHigh = (await details(b.port)).high;
  t.ok(finalHigh >= atCrash.high, 'the new seqnos cover the consumer\'s');
  await until(() => (resumed.positions.get(0)?.seqno ?? 0) >= finalHigh, 'the resumed stream to catch up');
  resumed.close();

  const server = await serverState(b);
  const g = await RawClient.connect(b.port);
  let getsAgree = true;
  for (const key of new Set([...server.keys(), ...copy.state().keys()])) {
    const r = await g.call({ opcode: Op.GET, key });
    const value = r.status === St.SUCCESS ? r.value.toString() : undefined;
    if (value !== server.get(key)) getsAgree = false;
  }
  g.end();
  return { persistedAtCrash: atCrash.persisted, highAtCrash: atCrash.high, rolledBackTo: copy.rolledBackTo, copy: copy.state(), server, getsAgree };
}

t.test('warmup order as shipped: the consumer is told to roll back and converges', async (t) => {
  const r = await scenario(t, false);
  t.same(r.rolledBackTo, [r.persistedAtCrash], 'ROLLBACK to the seqno that was persisted when A crashed');
  t.ok(r.getsAgree, 'the stream from 0 and GETs agree on the server\'s data');
  t.same([...r.copy.entries()], [...r.server.entries()], 'the consumer\'s copy equals the server\'s data exactly');
  t.equal(r.server.size, KEEP, 'only the items without TTL are left');
});

t.test('legacy order (LMCACHED_WARMUP_LEGACY_ORDER=1): no rollback, the copy diverges', async (t) => {
  const r = await scenario(t, true);
  t.same(r.rolledBackTo, [], 'the consumer is NOT told to roll back');
  t.notSame([...r.copy.entries()], [...r.server.entries()], 'its copy diverges from the server');
  const extra = [...r.copy.keys()].filter((k) => !r.server.has(k));
  t.ok(extra.some((k) => k.startsWith('tail-')), `it keeps writes the server lost (${extra.join(', ')})`);
});
