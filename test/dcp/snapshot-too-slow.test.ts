/**
 * The TOO_SLOW end of a disk snapshot (disk-snapshot.ts): a consumer too slow for a backfill
 * whose rest is over the copy budget (64 MB) gets STREAM_END with flag TOO_SLOW instead of the
 * producer holding its LMDB read transaction (which would grow data.mdb) or copying without
 * bound; asking again from where it stopped, with room to read, it gets every item.
 */
import t from 'tap';
import { DcpConsumer } from '../../lib/dcp/consumer.js';
import { SNAPSHOT_COPY_BUDGET } from '../../lib/dcp/disk-snapshot.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { vbDetails } from '../fixtures/kv.js';
import { startServer } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const VALUE = 1_000_000;
const ITEMS = Math.ceil((SNAPSHOT_COPY_BUDGET * 1.25) / VALUE);
const TOO_SLOW = 0x04;

t.test('a consumer too slow for a large disk snapshot is ended TOO_SLOW, and resumes', async (t) => {
  const server = await startServer({ args: ['--vbuckets', '1'] });
  t.teardown(() => server.stop('SIGKILL'));
  const w = await RawClient.connect(server.port);
  t.teardown(() => w.end());
  const value = Buffer.alloc(VALUE, 0x61);
  for (let i = 0; i < ITEMS; i++) t.equal((await w.call({ opcode: Op.SET, key: `big-${i}`, extras: setExtras(0, 0), value })).status, St.SUCCESS);
  await until(async () => {
    const d = await vbDetails(w, 0);
    return d.persisted === d.high && d.high === ITEMS;
  }, 'every item to be persisted');
  // And in LMDB: a stream started while some are still only in the commit log sends those from
  // memory, with no disk snapshot to be too slow for (seen under load).
  await until(async () => (await w.stats()).get('commit_log_unapplied_batches') === '0', 'every batch in LMDB');

  const ends: number[] = [];
  let received = 0;
  // A consumer that stops acknowledging after its first items: the producer's window closes.
  const slow = await DcpConsumer.connect('127.0.0.1', server.port, {
    mutation: () => void received++,
    streamEnd: (_vb, flags) => void ends.push(flags),
  }, { name: 'too-slow', bufferSize: 4 * 1024, mayAcknowledge: () => received < 2 });
  t.teardown(() => slow.close());
  await slow.stream(0);
  await until(() => ends.length > 0, 'the stream to end');
  t.same(ends, [TOO_SLOW], 'STREAM_END with TOO_SLOW');
  t.ok(received < ITEMS, `it had received ${received} of ${ITEMS} items`);
  t.match(server.log(), /consumer too slow for its disk snapshot; ending the stream \(TOO_SLOW\)/);
  const position = slow.positions.get(0);
  t.ok(position !== undefined && position.seqno === received, 'its position is the last item it got');

  // Asking again from there, with room to read, delivers the rest.
  let more = 0;
  const resumed = await DcpConsumer.connect('127.0.0.1', server.port, { mutation: () => void more++ }, { name: 'resumed', bufferSize: 32 * 1024 * 1024 });
  t.teardown(() => resumed.close());
  await resumed.stream(0, position);
  await until(() => received + more === ITEMS, 'the rest of the items', 60_000);
  t.equal(received + more, ITEMS, 'every item arrived across the two streams');
});
