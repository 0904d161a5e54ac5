/**
 * Keys too long for a resident-table bucket (over 18 bytes) live in the key arena
 * (long-keys.ts). Over the socket: keys of every length up to memcached's 250 bytes, with
 * every byte value, written, read, deleted and written again (their arena chunks given back
 * and taken again), counted exactly, and read back exact after a SIGKILL and restart.
 */
import t from 'tap';
import { Op, St, setExtras, type Req } from '../fixtures/frames.js';
import { clientFor } from '../fixtures/harness.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import type { RawClient } from '../fixtures/client.js';
import { until } from '../fixtures/wait.js';

/** Two keys per length from 19 to 250 bytes, differing in the last byte, over all byte values. */
function keysOf(last: number): Buffer[] {
  const keys: Buffer[] = [];
  for (let len = 19; len <= 250; len++) {
    for (const end of [last, last ^ 1]) {
      const k = Buffer.alloc(len);
      for (let i = 0; i < len - 1; i++) k[i] = (i * 31 + len * 7) & 0xff;
      k[len - 1] = end;
      keys.push(k);
    }
  }
  return keys;
}

const valueOf = (k: Buffer, round: number): string => `${round}:${k.length}:${k[k.length - 1]}`;

/** Keys whose GETK does not answer `want` (null: not found). */
async function wrong(c: RawClient, want: Map<Buffer, string | null>): Promise<number> {
  const keys = [...want.keys()];
  const rs = await c.pipeline(...keys.map((key, i) => ({ opcode: Op.GETK, key, opaque: i })));
  const got = new Map<number, string>();
  for (const r of rs) if (r.opcode === Op.GETK && r.status === St.SUCCESS && r.key.equals(keys[r.opaque])) got.set(r.opaque, r.value.toString());
  return keys.filter((k, i) => (got.get(i) ?? null) !== want.get(k)).length;
}

t.test('long keys of every length and byte value: exact through deletes, re-adds and a restart', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const first = keysOf(0xff);
  const later = keysOf(0x01);
  const want = new Map<Buffer, string | null>();

  const a = await startServer({ dataDir: dir, args: ['-m', '64'] });
  t.teardown(() => a.stop('SIGKILL'));
  const c = await clientFor(t, a.port);
  const sets = (keys: Buffer[], round: number): Req[] => keys.map((key) => ({ opcode: Op.SETQ, key, extras: setExtras(0, 0), value: valueOf(key, round) }));
  await c.pipeline(...sets(first, 1));
  for (const k of first) want.set(k, valueOf(k, 1));
  t.equal(await wrong(c, want), 0, `${first.length} keys of 19 to 250 bytes read back exact`);

  // Every other key deleted, then keys of the same lengths added: the freed chunks are reused.
  const deleted = first.filter((_, i) => i % 2 === 0);
  const dels = await c.pipeline(...deleted.map((key) => ({ opcode: Op.DELETE, key })));
  t.ok(dels.every((r) => r.status === St.SUCCESS), 'every delete answered SUCCESS');
  for (const k of deleted) want.set(k, null);
  await c.pipeline(...sets(later, 2));
  for (const k of later) want.set(k, valueOf(k, 2));
  t.equal(await wrong(c, want), 0, 'deleted keys are gone, new ones and the rest exact');

  const live = [...want.values()].filter((v) => v !== null).length;
  await until(async () => {
    const st = await c.stats();
    return st.get('flusher_backlog') === '0' && st.get('unpersisted_bytes') === '0' && st.get('commit_log_unapplied_batches') === '0';
  }, 'every write to reach LMDB');
  const st = await c.stats();
  t.equal(Number(st.get('curr_items')), live, 'curr_items counts them exactly');
  t.equal(Number(st.get('cache_items')), live, 'and all are resident');

  await a.stop('SIGKILL');
  const b = await startServer({ dataDir: dir, args: ['-m', '64'] });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await clientFor(t, b.port);
  t.equal(await wrong(d, want), 0, 'after SIGKILL and restart, warmup reloading them: every key exact');
});
