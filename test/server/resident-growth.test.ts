/**
 * The resident table grows while it serves (bucket-table.ts: a larger table takes new keys and
 * the old one drains a few buckets per add, hit and overwrite; entry-arrays.ts: the per-entry
 * words grow in place). The table starts with room for 1,024 entries, so 12,000 keys take it
 * through several growths and entry-array doublings; deletes, overwrites and reads land while
 * old tables still drain. Every key must read back with its newest value, over the socket and
 * after a restart, and curr_items must count them exactly.
 */
import t from 'tap';
import { Op, St, setExtras, type Req } from '../fixtures/frames.js';
import { clientFor } from '../fixtures/harness.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import type { RawClient } from '../fixtures/client.js';
import { until } from '../fixtures/wait.js';

const KEYS = 12_000;
const CHUNK = 1_500;
/** Short keys sit in their bucket; every seventh is longer than a bucket holds. */
const keyOf = (i: number): string => (i % 7 === 0 ? `a-key-longer-than-a-bucket-holds-${i}` : `g${i}`);

/** Every write in LMDB and settled: a delete's tombstone stays resident (pinned, counted in
 * cache_items) until LMDB has it. */
async function settled(c: RawClient): Promise<void> {
  await until(async () => {
    const st = await c.stats();
    return st.get('flusher_backlog') === '0' && st.get('unpersisted_bytes') === '0' && st.get('commit_log_unapplied_batches') === '0';
  }, 'every write to reach LMDB');
}

/** What each key should hold: its value, or null once deleted. */
function expected(): Map<string, string | null> {
  const want = new Map<string, string | null>();
  for (let i = 0; i < KEYS; i++) want.set(keyOf(i), i % 5 === 0 ? null : i % 3 === 0 ? `second-${i}` : `first-${i}`);
  return want;
}

async function load(c: RawClient): Promise<void> {
  for (let from = 0; from < KEYS; from += CHUNK) {
    const reqs: Req[] = [];
    for (let i = from; i < from + CHUNK; i++) reqs.push({ opcode: Op.SETQ, key: keyOf(i), extras: setExtras(i, 0), value: `first-${i}` });
    // While this chunk's adds may be draining an old table: reads, overwrites and deletes of
    // keys added before it, in the old table or the new.
    for (let i = 0; i < from + CHUNK; i += 3) {
      if (i % 5 !== 0) reqs.push({ opcode: Op.GETQ, key: keyOf(i) }, { opcode: Op.SETQ, key: keyOf(i), extras: setExtras(i, 0), value: `second-${i}` });
    }
    for (let i = 0; i < from + CHUNK; i += 5) reqs.push({ opcode: Op.DELETEQ, key: keyOf(i) });
    const rs = await c.pipeline(...reqs);
    const failed = rs.filter((r) => r.opcode !== Op.NOOP && r.opcode !== Op.GETQ && r.status !== St.SUCCESS && r.status !== St.KEY_ENOENT);
    if (failed.length > 0) throw new Error(`chunk from ${from}: ${failed.length} writes failed, status 0x${failed[0].status.toString(16)}`);
  }
}

async function wrongKeys(c: RawClient, want: Map<string, string | null>): Promise<string[]> {
  const keys = [...want.keys()];
  const rs = await c.pipeline(...keys.map((key, i) => ({ opcode: Op.GETK, key, opaque: i })));
  const got = new Map<string, string>();
  for (const r of rs) if (r.opcode === Op.GETK && r.status === St.SUCCESS) got.set(r.key.toString(), r.value.toString());
  return keys.filter((k) => (got.get(k) ?? null) !== want.get(k));
}

t.test('12,000 keys through several growths of the resident table: every key exact, before and after a restart', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const want = expected();
  const live = [...want.values()].filter((v) => v !== null).length;

  const a = await startServer({ dataDir: dir, args: ['-m', '1024'] });
  const c = await clientFor(t, a.port);
  await load(c);
  const wrong = await wrongKeys(c, want);
  t.same(wrong.slice(0, 10), [], `every key reads back its newest value (${wrong.length} wrong)`);
  await settled(c);
  const st = await c.stats();
  t.equal(Number(st.get('curr_items')), live, 'curr_items counts the live keys exactly');
  t.equal(Number(st.get('cache_items')), live, 'all of them resident, and no tombstone once LMDB has the deletes');
  await a.stop('SIGTERM');

  const b = await startServer({ dataDir: dir, args: ['-m', '1024'] });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await clientFor(t, b.port);
  const after = await wrongKeys(d, want);
  t.same(after.slice(0, 10), [], `after a restart too, warmup refilling the table (${after.length} wrong)`);
  t.equal(Number((await d.stats()).get('curr_items')), live, 'and counted alike');
});
