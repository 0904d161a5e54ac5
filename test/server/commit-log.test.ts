/**
 * The commit log in front of LMDB, over real processes. LMCACHED_APPLY_DELAY_MS holds committed
 * batches back from LMDB, so that what a test checks is certain to be only in the log (and in
 * memory): reads and a DCP stream see it there; a SIGKILL leaves it to warmup's replay, which
 * writes it to LMDB before anything reads there; a torn last frame is dropped; a damaged
 * segment is kept aside and the writes before the damage are kept; frames read into reused
 * buffers keep only their own writes; a clean shutdown leaves no segment behind; and data directories of the previous formats open: 2 (no commit log), and 3
 * with a segment a crash left (frames that carry every vBucket state in full).
 */
import t, { type Test } from 'tap';
import { appendFileSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { withClient, type RawClient } from '../fixtures/client.js';
import { failoverLog, vbDetails } from '../fixtures/kv.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import { DcpConsumer } from '../../lib/dcp/consumer.js';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { encodeItemKey } from '../../lib/store/key-codec.js';
import { ItemState, encodeRecord } from '../../lib/store/record.js';
import { CommitLog, segmentPath } from '../../lib/store/commit-log.js';
import { encodeFrame } from '../../lib/store/log-frame.js';
import type { ItemWrite, VBStateRecord } from '../../lib/store/store.js';
import { encodeWriteBatch, writeBatchBytes } from '../../lib/store/write-batch-codec.js';

const HOLD = { LMCACHED_APPLY_DELAY_MS: '600000' };
const ARGS = ['--ack', 'persist', '--vbuckets', '4'];

function segments(dir: string): string[] {
  return readdirSync(dir).filter((n) => /^commit-\d{8}\.log$/.test(n)).sort();
}

async function setMany(c: RawClient, prefix: string, n: number, value: (i: number) => string): Promise<void> {
  const res = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.SET, key: `${prefix}${i}`, extras: setExtras(i, 0), value: value(i) })));
  const bad = res.filter((r) => r.status !== St.SUCCESS);
  if (bad.length > 0) throw new Error(`SET failed: status ${bad[0].status}`);
}

async function countMatching(c: RawClient, prefix: string, n: number, value: (i: number) => string): Promise<number> {
  const res = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.GET, key: `${prefix}${i}` })));
  return res.filter((r, i) => r.status === St.SUCCESS && r.value.toString() === value(i) && r.extras.readUInt32BE(0) === i).length;
}

/** Writes `n` items acknowledged in --ack=persist mode while nothing reaches LMDB, then SIGKILLs. */
async function crashWithUnapplied(t: Test, n: number, value: (i: number) => string): Promise<string> {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: HOLD });
  await withClient(a.port, async (c) => {
    await setMany(c, 'k', n, value);
    t.equal(await countMatching(c, 'k', n, value), n, 'every write is read back while only the commit log and memory hold it');
  });
  await a.stop('SIGKILL');
  t.ok(segments(dir).length > 0, `the commit log holds them at the kill (${segments(dir).join(', ')})`);
  return dir;
}

t.test('acknowledged writes only in the commit log survive a SIGKILL: warmup replays them into LMDB', async (t) => {
  const value = (i: number): string => `value-${i}`;
  const dir = await crashWithUnapplied(t, 300, value);
  const crashed = segments(dir);
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  t.match(b.log(), /commit log: \d+ batches \(300 writes\) from \d+ segments replayed/);
  await withClient(b.port, async (c) => {
    t.equal(await countMatching(c, 'k', 300, value), 300, 'every acknowledged write is there');
    t.equal((await c.stats()).get('curr_items'), '300', 'warmup counted them from LMDB');
    const d = await vbDetails(c, 0);
    t.ok(d.high >= 300 && d.persisted === d.high, `the vBucket's state covers its replayed seqnos (${d.high})`);
  });
  t.same(segments(dir).filter((n) => crashed.includes(n)), [], 'the replayed segments are gone');
});

t.test('a torn last frame is dropped and the frames before it are kept', async (t) => {
  const value = (i: number): string => `v${i}`;
  const dir = await crashWithUnapplied(t, 50, value);
  const last = segments(dir).at(-1) as string;
  // A crash inside an append: a frame header announcing more bytes than follow.
  appendFileSync(join(dir, last), Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  t.match(b.log(), /commit log: 11 bytes of an append cut short by the crash dropped/);
  t.notMatch(b.log(), /damaged/);
  await withClient(b.port, async (c) => t.equal(await countMatching(c, 'k', 50, value), 50, 'every acknowledged write is there'));
});

t.test('a damaged segment is set aside; the writes before the damage are kept, and consumers are told to roll back', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: HOLD });
  const before = await withClient(a.port, async (c) => {
    // One write per batch (each awaited): one frame each.
    for (let i = 0; i < 20; i++) await c.call({ opcode: Op.SET, key: `d${i}`, extras: setExtras(i, 0), vbucket: 0, value: `value-${i}` });
    return { log: await failoverLog(c, 0), high: (await vbDetails(c, 0)).high };
  });
  await a.stop('SIGKILL');
  const [seg] = segments(dir);
  const bytes = readFileSync(join(dir, seg));
  // One flipped byte inside the 11th frame's payload; whole frames follow it.
  let at = 8;
  for (let f = 0; f < 10; f++) at += 8 + bytes.readUInt32BE(at);
  bytes[at + 8 + 20] ^= 0xff;
  writeFileSync(join(dir, seg), bytes);

  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  t.match(b.log(), /commit log: damaged; the writes from the damage on are lost; kept aside: .*\.damaged/);
  t.ok(statSync(join(dir, `${seg}.damaged`)).size === bytes.length, 'the damaged segment is kept for inspection, as it was');
  await withClient(b.port, async (c) => {
    const got = await c.pipeline(...Array.from({ length: 20 }, (_, i) => ({ opcode: Op.GET, key: `d${i}`, vbucket: 0 })));
    t.same(got.slice(0, 10).map((r) => r.status), Array(10).fill(St.SUCCESS), 'the writes before the damage are there');
    t.same(got.slice(10, 20).map((r) => r.status), Array(10).fill(St.KEY_ENOENT), 'the damaged one and those after it are lost');
    const after = await failoverLog(c, 0);
    t.equal(after.length, before.log.length + 1, 'a new failover entry');
    t.ok(after[0].seqno < before.high, `it branches below the lost seqnos (${after[0].seqno} < ${before.high}): a consumer that saw them rolls back`);
    t.equal((await c.call({ opcode: Op.SET, key: 'next', extras: setExtras(0, 0), vbucket: 0, value: 'x' })).status, St.SUCCESS, 'writes go on');
  });
});

/** A server whose committed batches stay out of LMDB (HOLD), with one vBucket, SIGKILLed at the end. */
async function heldServer(t: Test, ack: 'memory' | 'persist'): Promise<{ dir: string; port: number }> {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ['--ack', ack, '--vbuckets', '1'], env: HOLD });
  t.teardown(() => a.stop('SIGKILL'));
  return { dir, port: a.port };
}

// With --ack=persist every write is committed (and, held, not applied) when the stream starts:
// the stream reads them in the resident table, the older write of a rewritten key skipped.
for (const ack of ['memory', 'persist'] as const) {
  t.test(`reads and a DCP stream from seqno 0 see writes that are not in LMDB yet (--ack=${ack})`, async (t) => {
    const { dir, port } = await heldServer(t, ack);
    await withClient(port, async (c) => {
      await setMany(c, 's', 200, (i) => `first-${i}`);
      await setMany(c, 's', 100, (i) => `second-${i}`);
      const seen = new Map<string, string>();
      const consumer = await DcpConsumer.connect('127.0.0.1', port, { mutation: (_vb, _seqno, key, value) => void seen.set(key.toString(), value.toString()) }, { name: 'unapplied' });
      t.teardown(() => consumer.close());
      await consumer.stream(0);
      await until(() => seen.size === 200, 'the stream to deliver every key');
      const wrong = [...seen].filter(([k, v]) => v !== (Number(k.slice(1)) < 100 ? `second-${k.slice(1)}` : `first-${k.slice(1)}`));
      t.same(wrong, [], 'each key arrives with its newest value');
      t.equal(segments(dir).length, 1, 'still only in the commit log');
      t.not((await c.stats()).get('commit_log_unapplied_batches'), '0', 'and not in LMDB');
    });
  });
}

t.test('a stream whose end falls before newer writes of committed, unapplied keys sends what a disk backfill sends', async (t) => {
  const { port } = await heldServer(t, 'persist');
  await withClient(port, async (c) => {
    // Acknowledged in persist mode: committed, and (held back) not in LMDB.
    await setMany(c, 's', 200, (i) => `first-${i}`);
    await setMany(c, 's', 10, (i) => `second-${i}`);
    const seen = new Map<string, { seqno: number; value: string }>();
    let ended = -1;
    const consumer = await DcpConsumer.connect(
      '127.0.0.1',
      port,
      {
        mutation: (_vb, seqno, key, value) => void seen.set(key.toString(), { seqno, value: value.toString() }),
        streamEnd: (_vb, flags) => void (ended = flags),
      },
      { name: 'ended' },
    );
    t.teardown(() => consumer.close());
    await consumer.stream(0, undefined, 200n);
    await until(() => ended >= 0, 'the stream to reach its end');
    t.equal(ended, 0, 'it ends OK');
    t.ok([...seen.values()].every((m) => m.seqno <= 200), 'nothing past the end is sent');
    const wrong = [...seen].filter(([k, m]) => m.value !== `first-${k.slice(1)}`);
    t.same(wrong, [], 'every key sent has the value it had at its seqno');
    t.equal(seen.size, 190, 'the 190 keys not rewritten since, once each (the other 10 now live past the end)');
  });
});

t.test('frames read back into a buffer that held longer frames, and applied, keep exactly their writes after a SIGKILL and a restart', async (t) => {
  // The apply thread reads each frame back from the log into one reused buffer
  // (frame-reader.ts), and the main thread reuses its batch buffers; a frame shorter than the
  // buffer's last one must be logged, applied and replayed as its own bytes only.
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const long = (i: number): string => `${i}:`.padEnd(3000, 'L');
  const short = (i: number): string => `s${i}`;
  const a = await startServer({ dataDir: dir, args: ARGS });
  await withClient(a.port, async (c) => {
    for (let round = 0; round < 10; round++) await setMany(c, `long${round}-`, 15, long);
    // LMDB has every frame: the buffers now hold long frames' bytes.
    await until(async () => (await c.stats()).get('commit_log_unapplied_batches') === '0', 'LMDB to take every frame');
    for (let round = 0; round < 10; round++) await setMany(c, `long${round}-`, 5, short);
    for (let round = 0; round < 10; round++) await setMany(c, `short${round}-`, 15, short);
    t.equal(await countMatching(c, 'long0-', 5, short), 5, 'overwritten with short values');
  });
  await a.stop('SIGKILL');
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => {
    for (let round = 0; round < 10; round++) {
      t.equal(await countMatching(c, `short${round}-`, 15, short), 15, `round ${round}: every short write is there`);
      const res = await c.pipeline(...Array.from({ length: 15 }, (_, i) => ({ opcode: Op.GET, key: `long${round}-${i}` })));
      const wrong = Array.from({ length: 15 }, (_, i) => i).filter((i) => res[i].status !== St.SUCCESS || res[i].value.toString() !== (i < 5 ? short(i) : long(i)));
      t.same(wrong, [], `round ${round}: the overwritten keys hold their short values, the others their long ones`);
    }
    t.equal((await c.stats()).get('curr_items'), '300');
  });
});

t.test('a clean shutdown applies everything and leaves no segment', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: HOLD });
  await withClient(a.port, (c) => setMany(c, 'c', 100, (i) => `c${i}`));
  t.equal((await a.stop('SIGTERM')).code, 0);
  t.same(segments(dir), [], 'no segment left');
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  t.notMatch(b.log(), /replayed|unclean/, 'nothing to replay, no new failover entry');
  await withClient(b.port, async (c) => t.equal(await countMatching(c, 'c', 100, (i) => `c${i}`), 100));
});

t.test('a data directory of format 2 (no commit log) opens, and is marked 5', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  // Written as the previous build left it after a clean shutdown: items, states, format 2.
  const store = new LmdbStore({ path: dir });
  const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: 5, expiry: 0, cas: 7, seqno: 1, revSeqno: 1 }, Buffer.from('old'), 0, 3);
  const vbstate = { state: 1, highSeqno: 1, purgeSeqno: 0, maxCas: 7, snapStart: 1, snapEnd: 1, failovers: [['1234', 0]] as Array<[string, number]> };
  await store.writeBatch([{ keyString: encodeItemKey(0, Buffer.from('old-key'), 0, 7).toString('latin1'), record, seqno: 1, prevSeqno: 0 }], new Map([[0, vbstate]]), new Map<string, unknown>([['formatVersion', 2], ['cleanShutdown', true]]));
  await store.close();
  t.same(segments(dir), [], 'as a format-2 directory: LMDB only');

  const b = await startServer({ dataDir: dir, args: ['--vbuckets', '1'] });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => {
    const got = await c.call({ opcode: Op.GET, key: 'old-key' });
    t.same([got.status, got.value.toString(), got.extras.readUInt32BE(0)], [St.SUCCESS, 'old', 5], 'its item reads');
    t.same((await failoverLog(c, 0)).map((e) => e.uuid), [1234n], 'a clean shutdown: no new failover entry');
  });
  await b.stop('SIGTERM');
  const after = new LmdbStore({ path: dir });
  t.equal(after.getMeta<number>('formatVersion'), 5, 'marked format 5 by warmup');
  await after.close();
});

t.test('a format-3 directory with a segment a crash left (full vBucket states only) replays, and is marked 5', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const failovers = [['1234', 0]] as Array<[string, number]>;
  const itemWrite = (key: string, seqno: number): ItemWrite => {
    const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: seqno, expiry: 0, cas: 100 + seqno, seqno, revSeqno: 1 }, Buffer.from(`v${seqno}`), 0, String(seqno).length + 1);
    return { keyString: encodeItemKey(0, Buffer.from(key), 0, key.length).toString('latin1'), record, seqno, prevSeqno: -1 };
  };
  // LMDB as a format-3 build left it: one item, its state, no clean shutdown.
  const store = new LmdbStore({ path: dir });
  const state1 = { state: 1, highSeqno: 1, purgeSeqno: 0, maxDeletedRevSeqno: 0, maxCas: 101, snapStart: 1, snapEnd: 1, failovers };
  await store.writeBatch([itemWrite('in-lmdb', 1)], new Map([[0, state1]]), new Map<string, unknown>([['formatVersion', 3], ['cleanShutdown', false], ['maxCas', 101]]));
  await store.close();
  // Then two batches only in its commit log, as that build framed them: every state in full.
  const log = CommitLog.open(segmentPath(dir, 1));
  for (const [batch, key, seqno] of [[1, 'logged-a', 2], [2, 'logged-b', 3]] as const) {
    const writes = [itemWrite(key, seqno)];
    const buffer = new ArrayBuffer(writeBatchBytes(writes));
    encodeWriteBatch(writes, buffer);
    const head = { batch, count: 1, vbstates: [[0, { ...state1, highSeqno: seqno, maxCas: 100 + seqno, snapStart: seqno, snapEnd: seqno }]] as Array<[number, VBStateRecord]>, meta: [['maxCas', 100 + seqno]] as Array<[string, unknown]> };
    log.append(encodeFrame(head, buffer, buffer.byteLength));
  }
  log.sync();
  log.close();

  const b = await startServer({ dataDir: dir, args: ['--vbuckets', '1'] });
  t.teardown(() => b.stop('SIGKILL'));
  t.match(b.log(), /commit log: 2 batches \(2 writes\) from 1 segments replayed/);
  await withClient(b.port, async (c) => {
    const got = await c.pipeline(...['in-lmdb', 'logged-a', 'logged-b'].map((key) => ({ opcode: Op.GET, key })));
    t.same(got.slice(0, 3).map((r) => [r.status, r.value.toString()]), [[St.SUCCESS, 'v1'], [St.SUCCESS, 'v2'], [St.SUCCESS, 'v3']], 'the items in LMDB and in the log read');
    const fl = await failoverLog(c, 0);
    t.same([fl.length, fl[0].seqno, fl[1]?.uuid], [2, 3, 1234n], 'an unclean shutdown: a new failover entry at the replayed high seqno');
    t.equal((await vbDetails(c, 0)).high, 3, "the vBucket's high seqno is the replayed one");
  });
  await b.stop('SIGTERM');
  const after = new LmdbStore({ path: dir });
  t.equal(after.getMeta<number>('formatVersion'), 5, 'marked format 5 by warmup');
  await after.close();
});
