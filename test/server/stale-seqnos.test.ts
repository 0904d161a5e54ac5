/**
 * The seqno index with deferred removals (stale-seqnos.ts, format 5), over real processes: a
 * key written again leaves its old entry for a while, a DCP backfill skips such entries and
 * sends each key once at its newest seqno, and the entries go (idle removal, or the sweep at
 * start for those a crash left: a SIGKILL with removals waiting, and entries planted in LMDB). LMDB is read from the test process, read-only, while the
 * server runs; a directory of the previous format (4) opens and is marked 5.
 */
import t, { type Test } from 'tap';
import { open } from 'lmdb';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { withClient, type RawClient } from '../fixtures/client.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import { DcpConsumer } from '../../lib/dcp/consumer.js';
import { LmdbStore } from '../../lib/store/lmdb-store.js';
import { encodeItemKey, encodeSeqnoKey } from '../../lib/store/key-codec.js';
import { ItemState, encodeRecord } from '../../lib/store/record.js';
import type { ItemWrite } from '../../lib/store/store.js';

/** Entries of the items database and of the seqno index, as LMDB holds them now. */
function counts(dir: string): { items: number; seqnos: number } {
  const env = open({ path: dir, readOnly: true });
  try {
    const n = (name: string): number => Number(Reflect.get(env.openDB({ name, keyEncoding: 'binary', encoding: 'binary' }).getStats(), 'entryCount'));
    return { items: n('items'), seqnos: n('seqnos') };
  } finally {
    void env.close();
  }
}

async function setRound(c: RawClient, round: number, n: number): Promise<void> {
  const res = await c.pipeline(...Array.from({ length: n }, (_, i) => ({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: `r${round}-${i}` })));
  if (res.some((r) => r.status !== St.SUCCESS)) throw new Error('SET failed');
}

/** Every mutation a stream from seqno 0 to `end` sends, in order. */
async function backfill(port: number, end: number): Promise<Array<{ seqno: number; key: string; value: string }>> {
  const got: Array<{ seqno: number; key: string; value: string }> = [];
  let ended = false;
  const consumer = await DcpConsumer.connect(
    '127.0.0.1',
    port,
    {
      mutation: (_vb, seqno, key, value) => void got.push({ seqno: Number(seqno), key: key.toString(), value: value.toString() }),
      streamEnd: () => void (ended = true),
    },
    { name: 'seqno-index' },
  );
  try {
    await consumer.stream(0, undefined, BigInt(end));
    await until(() => ended, 'the stream to end');
  } finally {
    consumer.close();
  }
  return got;
}

/** Writes `items` into vBucket 0 of a new data directory through the store alone, with the
 * vBucket state (high seqno: the last item's) and metadata a build of `format` leaves. */
async function writeThroughStore(dir: string, items: ItemWrite[], format: number, cleanShutdown: boolean): Promise<void> {
  const high = items[items.length - 1].seqno;
  const maxCas = 100 + high;
  const failovers: Array<[string, number]> = [['1234', 0]];
  const store = new LmdbStore({ path: dir });
  await store.writeBatch(
    items,
    new Map([[0, { state: 1, highSeqno: high, purgeSeqno: 0, maxDeletedRevSeqno: 0, maxCas, snapStart: high, snapEnd: high, failovers }]]),
    new Map<string, unknown>([['formatVersion', format], ['cleanShutdown', cleanShutdown], ['maxCas', maxCas]]),
  );
  await store.close();
}

function item(key: string, seqno: number, value: string): ItemWrite {
  const record = encodeRecord({ state: ItemState.Live, datatype: 0, flags: 0, expiry: 0, cas: 100 + seqno, seqno, revSeqno: 1 }, Buffer.from(value), 0, value.length);
  return { keyString: encodeItemKey(0, Buffer.from(key), 0, key.length).toString('latin1'), record, seqno, prevSeqno: -1 };
}

/** A server (one vBucket) whose 100 keys were each written 20 times (`r<round>-<i>`), every
 * batch in LMDB; SIGKILLed at the end. */
async function overwritten(t: Test): Promise<{ dir: string; server: Awaited<ReturnType<typeof startServer>> }> {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const server = await startServer({ dataDir: dir, args: ['--ack', 'persist', '--vbuckets', '1'] });
  t.teardown(() => server.stop('SIGKILL'));
  await withClient(server.port, async (c) => {
    for (let round = 0; round < 20; round++) await setRound(c, round, 100);
    await until(async () => (await c.stats()).get('commit_log_unapplied_batches') === '0', 'every batch in LMDB');
  });
  return { dir, server };
}

t.test('keys written again: a backfill sends each once at its newest seqno, and the old entries go', async (t) => {
  const { dir, server: a } = await overwritten(t);
  const got = await backfill(a.port, 2000);
  t.equal(got.length, 100, 'one mutation per key');
  t.same(
    got.filter((m) => m.value !== `r19-${m.key.slice(1)}`),
    [],
    'each with its newest value',
  );
  t.ok(
    got.every((m, i) => m.seqno > 1900 && (i === 0 || m.seqno > got[i - 1].seqno)),
    'at its newest seqno, in seqno order',
  );
  await until(() => counts(dir).seqnos === 100, 'the index to hold one entry per item');
  t.same(counts(dir), { items: 100, seqnos: 100 }, 'one entry per item');
  t.equal((await a.stop('SIGTERM')).code, 0);
});

t.test('a SIGKILL while removals wait: after the restart the index again holds one entry per item', async (t) => {
  const { dir, server: a } = await overwritten(t);
  await a.stop('SIGKILL');
  t.ok(counts(dir).seqnos >= 100, `the index as the crash left it: ${counts(dir).seqnos} entries for 100 items`);

  const b = await startServer({ dataDir: dir, args: ['--vbuckets', '1'] });
  t.teardown(() => b.stop('SIGKILL'));
  const got = await backfill(b.port, 2000);
  t.same(
    got.map((m) => [m.key, m.value]).filter(([k, v]) => v !== `r19-${k.slice(1)}`),
    [],
    'a backfill sends each key at its newest value',
  );
  t.equal(got.length, 100, 'once');
  await until(() => counts(dir).seqnos === 100, 'the index to hold one entry per item');
  t.same(counts(dir), { items: 100, seqnos: 100 }, 'one entry per item');
});

t.test('entries a crash left in the index are skipped by a backfill and swept at start', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  await writeThroughStore(dir, [item('kept', 3, 'three'), item('other', 4, 'four')], 5, false);
  // What a crash leaves: entries of earlier writes of `kept`, and of a key since purged.
  const env = open({ path: dir });
  const seqnos = env.openDB<Buffer, Buffer>({ name: 'seqnos', keyEncoding: 'binary', encoding: 'binary' });
  env.transactionSync(() => {
    seqnos.putSync(encodeSeqnoKey(0, 1), Buffer.from('kept'));
    seqnos.putSync(encodeSeqnoKey(0, 2), Buffer.from('purged'));
  });
  await env.close();
  t.same(counts(dir), { items: 2, seqnos: 4 }, 'two entries beyond the items');

  const b = await startServer({ dataDir: dir, args: ['--vbuckets', '1'] });
  t.teardown(() => b.stop('SIGKILL'));
  const got = await backfill(b.port, 4);
  t.same(
    got.map((m) => [m.seqno, m.key, m.value]),
    [
      [3, 'kept', 'three'],
      [4, 'other', 'four'],
    ],
    'the backfill sends the items at their seqnos only',
  );
  await until(() => counts(dir).seqnos === 2, 'the sweep to remove the leftovers');
  t.same(counts(dir), { items: 2, seqnos: 2 }, 'one entry per item');
  await withClient(b.port, async (c) => {
    t.same((await c.pipeline({ opcode: Op.GET, key: 'kept' }, { opcode: Op.GET, key: 'purged' })).slice(0, 2).map((r) => r.status), [St.SUCCESS, St.KEY_ENOENT], 'the items are as they were');
  });
});

t.test('a directory of format 4 opens, backfills, and is marked 5', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  // As a format-4 build left it after a clean shutdown: one index entry per item.
  await writeThroughStore(dir, [item('a', 1, 'one'), item('b', 2, 'two'), item('c', 3, 'three')], 4, true);
  const b = await startServer({ dataDir: dir, args: ['--vbuckets', '1'] });
  t.teardown(() => b.stop('SIGKILL'));
  t.same(
    (await backfill(b.port, 3)).map((m) => [m.seqno, m.key, m.value]),
    [
      [1, 'a', 'one'],
      [2, 'b', 'two'],
      [3, 'c', 'three'],
    ],
    'its items stream in seqno order',
  );
  await withClient(b.port, async (c) => {
    t.equal((await c.call({ opcode: Op.SET, key: 'a', extras: setExtras(0, 0), value: 'again' })).status, St.SUCCESS, 'and take writes');
  });
  t.equal((await b.stop('SIGTERM')).code, 0);
  const env = open({ path: dir, readOnly: true });
  t.equal(env.openDB<unknown, string>({ name: 'meta' }).get('formatVersion'), 5, 'marked format 5 by warmup');
  await env.close();
  t.same(counts(dir), { items: 3, seqnos: 3 }, 'a clean shutdown leaves one entry per item');
});
