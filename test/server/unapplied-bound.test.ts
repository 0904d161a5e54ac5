/**
 * LMDB behind the commit log: the flusher keeps committing until MAX_UNAPPLIED_BYTES of
 * committed writes wait for LMDB, then starts no new batch (the writes wait in memory, readable,
 * and --ack=memory's back pressure holds their replies). A clean shutdown then applies at once,
 * whatever the apply thread's pace, commits the rest and answers every write; a restart finds
 * them all.
 *
 * LMCACHED_APPLY_DELAY_MS keeps LMDB from taking any batch for ten minutes, so the bound is
 * certainly reached (a condition to create, not a timing asserted).
 */
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import { MAX_UNAPPLIED_BYTES } from '../../lib/engine/flusher.js';
import { MEMORY_ACK_BACKLOG_BYTES } from '../../lib/server/memory-ack.js';

const VALUE_BYTES = 512 * 1024;
const value = (i: number): Buffer => Buffer.alloc(VALUE_BYTES, 0x61 + (i % 26));
const MB = 1024 * 1024;

t.test('the flusher stops at the unapplied bound; shutdown applies, commits and answers everything', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const server = await startServer({ dataDir, args: ['--ack', 'memory', '-m', '1024'], env: { LMCACHED_APPLY_DELAY_MS: '600000' } });
  t.teardown(() => server.stop('SIGKILL'));
  const writer = await RawClient.connect(server.port);
  const watcher = await RawClient.connect(server.port);
  t.teardown(() => {
    writer.end();
    watcher.end();
  });

  // One write at a time, each after the previous reply, until a reply is held.
  let sent = 0;
  let answered = 0;
  let failed = 0;
  let stopping = false;
  const writing = (async (): Promise<void> => {
    for (;;) {
      const i = sent++;
      const r = await writer.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: value(i) });
      if (r.status !== St.SUCCESS) failed++;
      answered++;
      if (r.status !== St.SUCCESS || stopping) return;
    }
  })().catch(() => undefined);

  let stats = new Map<string, string>();
  await until(async () => {
    stats = await watcher.stats();
    return Number(stats.get('commit_log_unapplied_bytes')) > MAX_UNAPPLIED_BYTES && Number(stats.get('ack_memory_holds')) >= 1 && answered < sent;
  }, 'the flusher to reach the bound and a reply to be held', 120_000);
  const unapplied = Number(stats.get('commit_log_unapplied_bytes'));
  // The last batch started below the bound; replies go out before commits, so it may hold
  // writes up to --ack=memory's backlog bound (then its replies wait), plus the one past it.
  t.ok(unapplied <= MAX_UNAPPLIED_BYTES + MEMORY_ACK_BACKLOG_BYTES + VALUE_BYTES + MB, `no batch started past the bound (${(unapplied / MB).toFixed(1)} MB unapplied)`);
  t.ok(Number(stats.get('flusher_backlog')) > 0 && Number(stats.get('unpersisted_bytes')) > 0, 'later writes wait in memory');
  // Still nothing more reaches the log while LMDB is held back.
  await new Promise((r) => setTimeout(r, 300));
  const again = await watcher.stats();
  t.equal(again.get('commit_log_unapplied_bytes'), stats.get('commit_log_unapplied_bytes'), 'and stay there');
  t.equal(answered, sent - 1, 'the writer waits for the one held reply');
  const last = await watcher.call({ opcode: Op.GET, key: `k${sent - 1}` });
  t.equal(last.status, St.SUCCESS, 'the held write is readable meanwhile');
  t.ok(last.value.equals(value(sent - 1)));

  const total = sent;
  stopping = true;
  const exit = await server.stop('SIGTERM');
  await writing;
  t.same(exit, { code: 0, signal: null }, 'a clean shutdown, the apply thread hurried past its test-hook hold');
  t.equal(answered, total, 'every write answered before the end');
  t.equal(failed, 0, 'all of them stored');
  t.notMatch(server.log(), /not marked clean/);

  const restarted = await startServer({ dataDir });
  t.teardown(() => restarted.stop('SIGKILL'));
  const reader = await RawClient.connect(restarted.port);
  t.teardown(() => reader.end());
  t.match(restarted.log(), /warmup: complete/);
  t.notMatch(restarted.log(), /unclean shutdown detected/, 'the restart sees the shutdown as clean');
  let found = 0;
  for (let i = 0; i < total; i++) {
    const g = await reader.call({ opcode: Op.GET, key: `k${i}` });
    if (g.status === St.SUCCESS && g.value.equals(value(i))) found++;
  }
  t.equal(found, total, `all ${total} writes are there after the restart`);
});
