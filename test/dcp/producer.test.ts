/**
 * The DCP producer over real sockets: errors and their statuses, backfill then live streaming
 * (including writes not yet persisted), finite streams ending with STREAM_END, flow control by
 * buffer acknowledgements, live writes queued past their commit keeping their values, batched
 * socket writes (--dcp-batch-ms), a slow consumer's bounded queue, NOOPs, and `lmcached tail`.
 */
import { spawn } from 'node:child_process';
import t, { type Test } from 'tap';
import { DcpConsumer } from '../../lib/dcp/consumer.js';
import { RawClient } from '../fixtures/client.js';
import { Copy } from '../fixtures/copy.js';
import { until } from '../fixtures/wait.js';
import { Op, St, req, setExtras, u32, type Res } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { vbDetails } from '../fixtures/kv.js';
import { CLI } from '../fixtures/server.js';

const Dcp = { OPEN: 0x50, CLOSE_STREAM: 0x52, STREAM_REQ: 0x53, GET_FAILOVER_LOG: 0x54, STREAM_END: 0x55, SNAPSHOT_MARKER: 0x56, MUTATION: 0x57, DELETION: 0x58, EXPIRATION: 0x59, NOOP: 0x5c, BUFFER_ACK: 0x5d, CONTROL: 0x5e } as const;
const ROLLBACK = 0x23;
const ERANGE = 0x22;
const NOT_SUPPORTED = 0x83;

const openExtras = (flags: number): Buffer => Buffer.concat([u32(0), u32(flags)]);
function streamExtras(start: bigint, end: bigint, vbuuid = 0n, snapStart = start, snapEnd = start): Buffer {
  const b = Buffer.alloc(48);
  b.writeBigUInt64BE(start, 8);
  b.writeBigUInt64BE(end, 16);
  b.writeBigUInt64BE(vbuuid, 24);
  b.writeBigUInt64BE(snapStart, 32);
  b.writeBigUInt64BE(snapEnd, 40);
  return b;
}
const FOREVER = 0xffffffffffffffffn;

async function producerConn(t: Test, port: number): Promise<RawClient> {
  const c = await clientFor(t, port);
  t.equal((await c.call({ opcode: Dcp.OPEN, key: 'test', extras: openExtras(1) })).status, St.SUCCESS, 'DCP_OPEN producer');
  return c;
}

/** Reads DCP messages until `stop` says so. */
async function readUntil(c: RawClient, stop: (m: Res) => boolean): Promise<Res[]> {
  const out: Res[] = [];
  for (;;) {
    const [m] = await c.read(1);
    out.push(m);
    if (stop(m)) return out;
  }
}

/** A server of 4 vBuckets, a client of it, and a producer connection with a flow-control
 * window of `window` bytes streaming vBucket 0 from the start, for ever. */
async function windowedStream(t: Test, window: number): Promise<{ w: RawClient; c: RawClient }> {
  const server = await serverFor(t, { args: ['--vbuckets', '4'] });
  const w = await clientFor(t, server.port);
  const c = await producerConn(t, server.port);
  await c.call({ opcode: Dcp.CONTROL, key: 'connection_buffer_size', value: String(window) });
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(0n, FOREVER) })).status, St.SUCCESS);
  return { w, c };
}

/** Reads DCP messages while `more()` says so, handing each to `visit` and acknowledging the
 * bytes read every `ackAt` of them (BUFFER_ACK), as a consumer under flow control does. */
async function readAcking(c: RawClient, ackAt: number, more: () => boolean, visit: (m: Res) => void): Promise<void> {
  let bytes = 0;
  while (more()) {
    const [m] = await c.read(1);
    bytes += 24 + m.extras.length + m.key.length + m.value.length;
    visit(m);
    if (bytes >= ackAt) {
      c.send(req({ opcode: Dcp.BUFFER_ACK, extras: u32(bytes) }));
      bytes = 0;
    }
  }
}

t.test('requests a producer refuses, with their statuses', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4'] });
  const plain = await clientFor(t, server.port);
  t.equal((await plain.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(0n, FOREVER) })).status, St.EINVAL, 'stream request before DCP_OPEN');
  t.equal((await plain.call({ opcode: Dcp.OPEN, key: 'c', extras: openExtras(0) })).status, NOT_SUPPORTED, 'opening a consumer');
  const c = await producerConn(t, server.port);
  t.equal((await c.call({ opcode: Dcp.CONTROL, key: 'no_such_control', value: '1' })).status, St.EINVAL, 'unknown control');
  t.equal((await c.call({ opcode: Dcp.CONTROL, key: 'connection_buffer_size', value: 'lots' })).status, St.EINVAL, 'bad control value');
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, vbucket: 9, extras: streamExtras(0n, FOREVER) })).status, St.NOT_MY_VBUCKET, 'no such vBucket');
  // kv_engine streams active and replica vBuckets (a replica's stream feeds a chain), not
  // pending or dead ones.
  await plain.call({ opcode: 0x3d, vbucket: 3, extras: Buffer.from([3]) });
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, vbucket: 3, extras: streamExtras(0n, FOREVER) })).status, St.NOT_MY_VBUCKET, 'pending vBucket');
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(10n, 5n) })).status, ERANGE, 'start above end');
  const rb = await c.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(5n, FOREVER, 0x1234n) });
  t.equal(rb.status, ROLLBACK, 'unknown vbuuid with a start seqno');
  t.equal(rb.value.readBigUInt64BE(0), 0n, 'rolls back to 0');
  t.equal((await c.call({ opcode: Dcp.CLOSE_STREAM, vbucket: 1 })).status, St.KEY_ENOENT, 'closing a stream that does not exist');
  const fl = await c.call({ opcode: Dcp.GET_FAILOVER_LOG });
  t.equal(fl.value.length, 16, 'DCP_GET_FAILOVER_LOG');
  const ok = await c.call({ opcode: Dcp.STREAM_REQ, vbucket: 1, extras: streamExtras(0n, FOREVER), opaque: 77 });
  t.equal(ok.status, St.SUCCESS);
  t.ok(ok.value.equals((await plain.call({ opcode: 0x96, vbucket: 1 })).value), 'success carries the failover log');
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, vbucket: 1, extras: streamExtras(0n, FOREVER) })).status, St.KEY_EEXISTS, 'a second stream for the vBucket');
  t.equal((await c.call({ opcode: Dcp.CLOSE_STREAM, vbucket: 1 })).status, St.SUCCESS, 'close stream');
  t.equal((await plain.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'other connections unaffected');
});

t.test('backfill, then a finite end: markers, items in seqno order, STREAM_END', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4', '--ack', 'persist'] });
  const w = await clientFor(t, server.port);
  for (let i = 1; i <= 6; i++) await w.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(i, 0), value: `v${i}` });
  await w.call({ opcode: Op.DELETE, key: 'k2' }); // 7
  await w.call({ opcode: Op.SET, key: 'k3', extras: setExtras(0, 0), value: 'v3b' }); // 8
  // A backfill from disk: the writes must be in LMDB, not only in the commit log.
  await until(async () => (await w.stats()).get('commit_log_unapplied_batches') === '0', 'the writes to reach LMDB');
  const c = await producerConn(t, server.port);
  const res = await c.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(0n, 7n), opaque: 5 });
  t.equal(res.status, St.SUCCESS);
  const msgs = await readUntil(c, (m) => m.opcode === Dcp.STREAM_END);
  t.ok(msgs.every((m) => m.magic === 0x80 && m.opaque === 5), 'producer messages are requests carrying the stream opaque');
  t.equal(msgs[0].opcode, Dcp.SNAPSHOT_MARKER);
  t.equal(msgs[0].extras.readBigUInt64BE(0), 1n, 'snapshot from seqno 1');
  t.equal(msgs[0].extras.readBigUInt64BE(8), 7n, 'to the requested end');
  const items = msgs.filter((m) => m.opcode === Dcp.MUTATION || m.opcode === Dcp.DELETION);
  t.same(items.map((m) => [m.opcode, m.key.toString(), Number(m.extras.readBigUInt64BE(0))]), [
    [Dcp.MUTATION, 'k1', 1],
    [Dcp.MUTATION, 'k4', 4],
    [Dcp.MUTATION, 'k5', 5],
    [Dcp.MUTATION, 'k6', 6],
    [Dcp.DELETION, 'k2', 7],
  ], 'one entry per key, superseded seqnos skipped, nothing past the end');
  t.equal(items[0].value.toString(), 'v1');
  t.equal(items[0].extras.readUInt32BE(16), 1, 'flags');
  t.equal(msgs[msgs.length - 1].extras.readUInt32BE(0), 0, 'STREAM_END with flag OK');
});

t.test('live streaming includes writes not yet persisted; expirations use their opcode', async (t) => {
  // Commits held back long enough that a loaded CI machine still streams all three first (3 s
  // was outlasted once by a parallel run on 2 cores); the test never waits for them.
  const server = await serverFor(t, { args: ['--vbuckets', '4'], env: { LMCACHED_FLUSH_DELAY_MS: '10000' } });
  const w = await clientFor(t, server.port);
  const copy = new Copy();
  const consumer = await DcpConsumer.connect('127.0.0.1', server.port, copy.events(), { name: 'live' });
  t.teardown(() => consumer.close());
  await consumer.stream(0);
  await w.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: '1' });
  await w.call({ opcode: Op.SET, key: 'b', extras: setExtras(0, 1), value: '2' });
  await w.call({ opcode: Op.DELETE, key: 'a' });
  await until(() => copy.highSeqno >= 3, 'live items');
  const d = await vbDetails(w, 0);
  t.ok(d.persisted < 3, `received seqnos 1..3 while ${d.persisted} were persisted`);
  await new Promise((r) => setTimeout(r, 2100));
  t.equal((await w.call({ opcode: Op.GET, key: 'b' })).status, St.KEY_ENOENT, 'b expired on access');
  await until(() => copy.highSeqno >= 4, 'the expiration');
  t.same(copy.log.map((e) => [e.seqno, e.key, e.value]), [[1, 'a', '1'], [2, 'b', '2'], [3, 'a', null], [4, 'b', null]]);
});

t.test('flow control: the producer stops at the buffer size until acknowledged', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4', '--ack', 'persist'] });
  const w = await clientFor(t, server.port);
  await w.pipeline(...Array.from({ length: 200 }, (_, i) => ({ opcode: Op.SETQ, key: `item-${i}`, extras: setExtras(0, 0), value: 'x'.repeat(100) })));
  // Flow control paces a disk backfill: the items must be in LMDB, not only in the commit log.
  await until(async () => (await w.stats()).get('commit_log_unapplied_batches') === '0', 'the writes to reach LMDB');
  const c = await producerConn(t, server.port);
  t.equal((await c.call({ opcode: Dcp.CONTROL, key: 'connection_buffer_size', value: '2000' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(0n, FOREVER) })).status, St.SUCCESS);
  const producerStats = async (): Promise<Map<string, string>> => w.stats('dcp');
  await until(async () => Number((await producerStats()).get('eq_dcpq:test:unacked_bytes')) >= 2000, 'the window to fill');
  const sent = Number((await producerStats()).get('eq_dcpq:test:items_sent'));
  t.ok(sent > 0 && sent < 20, `stopped after ${sent} items`);
  t.equal((await w.call({ opcode: Op.GET, key: 'item-0' })).status, St.SUCCESS, 'other clients are served meanwhile');
  let mutations = 0;
  await readAcking(c, 1000, () => mutations < 200, (m) => {
    if (m.opcode === Dcp.MUTATION) mutations++;
  });
  t.equal(mutations, 200, 'acknowledging lets every item through');
});

t.test('a live write still queued at its commit keeps its value while the arena reuses its chunk', async (t) => {
  // A small window holds the stream back while every round commits; each round rewrites the
  // same keys, so its commit frees the chunks of the round before (superseded) and the next
  // round's records take them. A queued write that read its record from its chunk would then
  // carry a later round's value.
  const { w, c } = await windowedStream(t, 1000);
  const KEYS = 20;
  const ROUNDS = 15;
  const value = (round: number, k: number): string => `round-${String(round).padStart(3, '0')}-key-${String(k).padStart(3, '0')}-${'v'.repeat(60)}`;
  for (let round = 0; round < ROUNDS; round++) {
    await w.pipeline(...Array.from({ length: KEYS }, (_, k) => ({ opcode: Op.SETQ, key: `reuse-${k}`, extras: setExtras(0, 0), value: value(round, k) })));
    const high = (round + 1) * KEYS;
    await until(async () => (await vbDetails(w, 0)).persisted >= high, `round ${round} committed`);
  }
  const sentBefore = Number((await w.stats('dcp')).get('eq_dcpq:test:items_sent'));
  t.ok(sentBefore < (ROUNDS - 1) * KEYS, `the stream held back (${sentBefore} sent) while the rounds committed`);
  const got: Array<[number, string, string]> = [];
  await readAcking(c, 500, () => got.length < ROUNDS * KEYS, (m) => {
    if (m.opcode === Dcp.MUTATION) got.push([Number(m.extras.readBigUInt64BE(0)), m.key.toString(), m.value.toString()]);
  });
  const expected = Array.from({ length: ROUNDS * KEYS }, (_, i): [number, string, string] => [i + 1, `reuse-${i % KEYS}`, value(Math.floor(i / KEYS), i % KEYS)]);
  t.same(got, expected, 'every mutation with the value written at its seqno');
  t.equal(Number((await w.stats('dcp')).get('eq_dcpq:test:cursors_dropped') ?? '0'), 0, 'sent from memory, not caught up from disk');
});

t.test('--dcp-batch-ms: writes made while a pump waits go out together, complete and in order', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4', '--dcp-batch-ms', '1000'] });
  const w = await clientFor(t, server.port);
  const c = await producerConn(t, server.port);
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, extras: streamExtras(0n, FOREVER) })).status, St.SUCCESS);
  // A first write, read back so the next ten start right after a pump.
  await w.call({ opcode: Op.SET, key: 'first', extras: setExtras(0, 0), value: 'v' });
  const first = await readUntil(c, (m) => m.opcode === Dcp.MUTATION);
  t.equal(first[first.length - 1].key.toString(), 'first');
  // Ten writes in ten round trips (ten turns of the server's loop), well inside the second the
  // producer now waits before its next socket write.
  for (let i = 0; i < 10; i++) await w.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: `v${i}` });
  const msgs = await readUntil(c, (m) => m.opcode === Dcp.MUTATION && m.key.toString() === 'k9');
  const items = msgs.filter((m) => m.opcode === Dcp.MUTATION);
  t.same(items.map((m) => [Number(m.extras.readBigUInt64BE(0)), m.key.toString(), m.value.toString()]), Array.from({ length: 10 }, (_, i) => [i + 2, `k${i}`, `v${i}`]), 'every write, in seqno order');
  const markers = msgs.filter((m) => m.opcode === Dcp.SNAPSHOT_MARKER);
  t.ok(markers.length < items.length, `${items.length} items under ${markers.length} snapshot marker(s): sent together`);
  for (const m of items) {
    const seqno = m.extras.readBigUInt64BE(0);
    t.ok(markers.some((k) => k.extras.readBigUInt64BE(0) <= seqno && seqno <= k.extras.readBigUInt64BE(8)), `seqno ${seqno} inside a marker's range`);
  }
  t.equal((await w.stats('settings')).get('dcp_batch_ms'), '1000', 'stats settings');
});

t.test('a consumer that stops reading: bounded queue, then a correct catch-up from disk', async (t) => {
  const { w, c } = await windowedStream(t, 1000);
  const N = 25_000;
  for (let i = 0; i < N; i += 1000) {
    await w.pipeline(...Array.from({ length: 1000 }, (_, j) => ({ opcode: Op.SETQ, key: `slow-${i + j}`, extras: setExtras(0, 0), value: 'v' })));
  }
  await until(async () => Number((await w.stats('dcp')).get('eq_dcpq:test:cursors_dropped')) >= 1, 'the queue to be dropped');
  t.pass('the in-memory queue was dropped instead of growing');
  t.equal((await w.call({ opcode: Op.GET, key: 'slow-0' })).status, St.SUCCESS, 'other clients unaffected');
  const seen = new Set<string>();
  await readAcking(c, 500, () => seen.size < N, (m) => {
    if (m.opcode === Dcp.MUTATION) seen.add(m.key.toString());
  });
  t.equal(seen.size, N, 'every item arrives once the consumer reads again');
});

t.test('NOOP: sent when enabled; a consumer that stops answering is disconnected', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '1'] });
  const c = await producerConn(t, server.port);
  t.equal((await c.call({ opcode: Dcp.CONTROL, key: 'set_noop_interval', value: '1' })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Dcp.CONTROL, key: 'enable_noop', value: 'true' })).status, St.SUCCESS);
  const [noop] = await c.read(1);
  t.equal(noop.opcode, Dcp.NOOP);
  t.equal(noop.magic, 0x80, 'a request from the server');
  c.send(req({ opcode: Dcp.NOOP, opaque: noop.opaque, magic: 0x81 }));
  const [second] = await c.read(1);
  t.equal(second.opcode, Dcp.NOOP, 'answered, so another follows');
  await c.untilClosed();
  t.ok(c.closed, 'left unanswered, the connection is closed');
});

t.test('a vBucket that stops being active ends its streams with STATE_CHANGED', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '4'] });
  const admin = await clientFor(t, server.port);
  const c = await producerConn(t, server.port);
  t.equal((await c.call({ opcode: Dcp.STREAM_REQ, vbucket: 2, extras: streamExtras(0n, FOREVER), opaque: 9 })).status, St.SUCCESS);
  // The stream follows memory and has nothing left to send when the state changes: the change
  // itself must end it, not the next write.
  await admin.call({ opcode: Op.SET, key: 'one', vbucket: 2, extras: setExtras(0, 0), value: 'x' });
  t.ok((await readUntil(c, (m) => m.opcode === Dcp.MUTATION)).length > 0, 'the stream is live');
  await new Promise((r) => setTimeout(r, 50));
  t.equal((await admin.call({ opcode: 0x3d, vbucket: 2, extras: Buffer.from([2]) })).status, St.SUCCESS, 'vb 2 becomes a replica');
  const msgs = await readUntil(c, (m) => m.opcode === Dcp.STREAM_END);
  const end = msgs[msgs.length - 1];
  t.equal(end.opaque, 9);
  t.equal(end.extras.readUInt32BE(0), 2, 'flag STATE_CHANGED');
  t.equal((await c.call({ opcode: Dcp.CLOSE_STREAM, vbucket: 2 })).status, St.KEY_ENOENT, 'the stream is gone');
});

t.test('lmcached tail prints the change stream', async (t) => {
  const server = await serverFor(t, { args: ['--vbuckets', '2'] });
  const w = await clientFor(t, server.port);
  await w.call({ opcode: Op.SET, key: 'before', extras: setExtras(0, 0), value: 'x' });
  const tail = spawn(process.execPath, [CLI, 'tail', '--port', String(server.port), '--vbucket', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => tail.kill('SIGKILL'));
  let out = '';
  tail.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('"before"'), 'the backfilled item');
  await w.call({ opcode: Op.SET, key: 'live', extras: setExtras(7, 0), value: 'hello' });
  await w.call({ opcode: Op.DELETE, key: 'before' });
  await until(() => out.split('\n').filter(Boolean).length >= 3, 'three lines');
  t.same(out.split('\n').filter(Boolean), [
    'vb=0 seqno=1 mutation key="before" flags=0 expiry=0 bytes=1',
    'vb=0 seqno=2 mutation key="live" flags=7 expiry=0 bytes=5',
    'vb=0 seqno=3 deletion key="before"',
  ]);
});
