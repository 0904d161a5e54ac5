/**
 * A disk snapshot is one point in time: a backfill sends a marker [start, end] and then every
 * key that existed at `end`, even when keys are overwritten while the backfill runs (their
 * newer versions come later, in a later snapshot). Before the fix each backfill chunk read the
 * latest commit, so an overwritten key lost its old seqno-index entry and the snapshot that
 * claimed to cover it arrived without it.
 */
import t from 'tap';
import { DcpConsumer } from '../../lib/dcp/consumer.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { vbDetails } from '../fixtures/kv.js';
import { startServer } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const KEYS = 20_000;
const OVERWRITTEN = 2_000;

t.test('keys overwritten during a backfill are all in the disk snapshot that covers them', async (t) => {
  const server = await startServer({ args: ['--vbuckets', '1'] });
  t.teardown(() => server.stop('SIGKILL'));
  const w = await RawClient.connect(server.port);
  t.teardown(() => w.end());
  const value = 'x'.repeat(1000);
  for (let from = 0; from < KEYS; from += 1000) {
    const frames = [];
    for (let i = from; i < from + 1000; i++) frames.push({ opcode: Op.SETQ, key: `key-${i}`, extras: setExtras(0, 0), value });
    frames.push({ opcode: Op.NOOP });
    await w.pipeline(...frames);
  }
  await until(async () => {
    const d = await vbDetails(w, 0);
    return d.persisted === d.high && d.high === KEYS && (await w.stats()).get('commit_log_unapplied_batches') === '0';
  }, 'every key to be persisted and in LMDB');

  const markers: Array<{ start: number; end: number }> = [];
  const inFirst = new Set<string>();
  let received = 0;
  const c = await DcpConsumer.connect('127.0.0.1', server.port, {
    snapshot: (_vb, start, end) => void markers.push({ start, end }),
    mutation: (_vb, _seqno, key) => {
      received++;
      if (markers.length === 1) inFirst.add(key.toString());
    },
  }, { name: 'slow-backfill', bufferSize: 4 * 1024 });
  t.teardown(() => c.close());
  await c.stream(0);
  // Overwrite the first keys while the backfill (paced by the small flow-control window) runs.
  const frames = [];
  for (let i = 0; i < OVERWRITTEN; i++) frames.push({ opcode: Op.SET, key: `key-${i}`, extras: setExtras(1, 0), value: 'new' });
  const replies = await w.pipeline(...frames);
  t.ok(replies.every((r) => r.status === St.SUCCESS), 'every overwrite stored');
  // Wait for their commit, so the seqno index has changed under the running backfill.
  await until(async () => {
    const d = await vbDetails(w, 0);
    return d.persisted === d.high && (await w.stats()).get('commit_log_unapplied_batches') === '0';
  }, 'the overwrites to be persisted and in LMDB');
  t.ok(received < KEYS, `the overwrites landed during the backfill (${received} of ${KEYS} items received by then)`);
  await until(() => (c.positions.get(0)?.seqno ?? 0) >= KEYS + OVERWRITTEN, 'the backfill and the overwrites to arrive', 60_000);
  t.same(markers[0], { start: 1, end: KEYS }, 'the first snapshot covers every original seqno');
  const missing = [];
  for (let i = 0; i < KEYS; i++) if (!inFirst.has(`key-${i}`)) missing.push(i);
  t.same(missing.length, 0, `every key is in the first snapshot (missing: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''})`);
});
