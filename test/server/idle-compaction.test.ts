/**
 * The idle heap collection (lib/idle-compaction.ts): a server left idle after a burst of writes
 * that grew its heap collects once (heap_compactions), keeps every item, and an idle server
 * that did nothing does not collect; the collection does not wait for LMDB to catch up.
 */
import t from 'tap';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { clientFor, serverFor } from '../fixtures/harness.js';

// 200k SETs of ~130 bytes: well over the 16 MB of requests that make a burst worth a collection.
// Keys longer than the resident table's buckets hold are kept as strings on the heap.
const key = (i: number): string => `idle-compaction-test-key-${String(i).padStart(8, '0')}-padding`;
const value = (i: number): string => `v${i}`.padEnd(60, '.');
const N = 200_000;
const BATCH = 2000;

t.test('idle after a burst of writes, the server collects its heap once and keeps every item', async (t) => {
  const server = await serverFor(t, { args: ['-v'] });
  const c = await clientFor(t, server.port);
  t.equal((await c.stats()).get('heap_compactions'), '0', 'none at start');
  for (let from = 0; from < N; from += BATCH) {
    const sets = [];
    for (let i = from; i < from + BATCH; i++) sets.push({ opcode: Op.SETQ, key: key(i), extras: setExtras(i, 0), value: value(i) });
    const rs = await c.pipeline(...sets, { opcode: Op.NOOP });
    if (rs.some((r) => r.opcode !== Op.NOOP)) t.fail(`quiet SETs: ${rs.map((r) => `${r.opcode}/${r.status}/${r.opaque}`).join(' ')}`) || t.bailout();
  }
  // A stats request is work too: ask seldom enough (the collector checks every 2 s and wants
  // three quiet checks in a row) that the server sees them between two requests.
  let compactions = 0;
  for (let waited = 0; compactions === 0 && waited < 45_000; waited += 9000) {
    await new Promise((r) => setTimeout(r, 9000));
    compactions = Number((await c.stats()).get('heap_compactions'));
  }
  if (!t.ok(compactions >= 1, `collected once idle (${compactions})`)) {
    const st = await c.stats();
    t.comment(`bytes_read ${st.get('bytes_read')}, unapplied batches ${st.get('commit_log_unapplied_batches')}; server log:\n${server.log().split('\n').slice(-30).join('\n')}`);
  }
  let wrong = 0;
  let read = 0;
  for (let from = 0; from < N; from += 20 * BATCH) {
    const gets = [];
    for (let i = from; i < from + BATCH; i++) gets.push({ opcode: Op.GET, key: key(i), opaque: i });
    const answers = (await c.pipeline(...gets)).filter((r) => r.opcode === Op.GET);
    read += answers.length;
    for (const r of answers) if (r.status !== St.SUCCESS || r.value.toString() !== value(r.opaque) || r.extras.readUInt32BE(0) !== r.opaque) wrong++;
  }
  t.equal(read, (N / (20 * BATCH)) * BATCH, 'every GET of the sample answered');
  t.equal(wrong, 0, 'a sample of the items reads back right after the collection');
});

t.test('an idle server that did no work does not collect', async (t) => {
  const server = await serverFor(t);
  const c = await clientFor(t, server.port);
  // More than the collector's three quiet checks, idle.
  await new Promise((r) => setTimeout(r, 9000));
  t.equal((await c.stats()).get('heap_compactions'), '0');
});

t.test('the collection does not wait for LMDB: committed writes hold nothing it would free', async (t) => {
  // The apply thread holds every committed batch back for the whole test: LMDB stays behind.
  const server = await serverFor(t, { env: { LMCACHED_APPLY_DELAY_MS: '600000' } });
  const c = await clientFor(t, server.port);
  const big = 'x'.repeat(512 * 1024);
  t.equal((await c.call({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: big })).status, St.SUCCESS);
  // A burst of reads (over the 16 MB of requests that make one worth a collection), with the
  // write committed to the log and not in LMDB.
  for (let i = 0; i < 40; i++) if ((await c.call({ opcode: Op.GET, key: 'big' })).value.length !== big.length) t.fail('GET big');
  let compactions = 0;
  let unapplied = '';
  for (let waited = 0; compactions === 0 && waited < 45_000; waited += 9000) {
    await new Promise((r) => setTimeout(r, 9000));
    const st = await c.stats();
    compactions = Number(st.get('heap_compactions'));
    unapplied = st.get('commit_log_unapplied_batches') ?? '';
  }
  t.ok(compactions >= 1, `collected once idle (${compactions})`);
  t.not(unapplied, '0', `while LMDB was still behind (${unapplied} batches not applied)`);
  t.equal((await c.call({ opcode: Op.GET, key: 'big' })).value.toString(), big, 'the item is there');
});
