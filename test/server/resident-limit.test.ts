/**
 * The resident table's entry limit (214,748,364; LMCACHED_RESIDENT_ENTRY_LIMIT lowers it so a test
 * reaches it). At the limit a new key ejects a clean entry, whatever the -m quota; when every
 * entry holds an uncommitted write, new writes are refused as memcached refuses what it cannot
 * store (binary ENOMEM, text "SERVER_ERROR out of memory storing object") instead of the process
 * dying, reads keep working (from LMDB), and writes are taken again once the held ones commit.
 * Nothing acknowledged is lost, through a SIGKILL and restart.
 */
import t from 'tap';
import net from 'node:net';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { clientFor } from '../fixtures/harness.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import type { RawClient } from '../fixtures/client.js';
import { until } from '../fixtures/wait.js';

const ENOMEM = 0x82;
const LIMIT = 500;

/** Keys whose GET does not answer `want` (null: not found). */
async function wrong(c: RawClient, want: Map<string, string | null>): Promise<number> {
  const keys = [...want.keys()];
  const rs = await c.pipeline(...keys.map((key, i) => ({ opcode: Op.GETK, key, opaque: i })));
  const got = new Map<number, string>();
  for (const r of rs) if (r.opcode === Op.GETK && r.status === St.SUCCESS) got.set(r.opaque, r.value.toString());
  return keys.filter((k, i) => (got.get(i) ?? null) !== want.get(k)).length;
}

async function settled(c: RawClient, limitMs?: number): Promise<void> {
  await until(async () => {
    const st = await c.stats();
    return st.get('flusher_backlog') === '0' && st.get('unpersisted_bytes') === '0' && st.get('commit_log_unapplied_batches') === '0';
  }, 'every write to reach LMDB', limitMs);
}

function textCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(command));
    let got = '';
    s.on('error', reject);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.endsWith('\r\n')) {
        s.destroy();
        resolve(got);
      }
    });
  });
}

t.test('at the entry limit clean entries are ejected: many more keys than the limit, all kept', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const s = await startServer({ dataDir: dir, args: ['-m', '64'], env: { LMCACHED_RESIDENT_ENTRY_LIMIT: String(LIMIT) } });
  t.teardown(() => s.stop('SIGKILL'));
  const c = await clientFor(t, s.port);
  const want = new Map<string, string | null>();
  // In rounds smaller than the limit: writes stay pinned until they reach LMDB.
  let refused = 0;
  for (let round = 0; round < 15; round++) {
    const keys = Array.from({ length: 400 }, (_, i) => `k${round}-${i}`);
    const rs = await c.pipeline(...keys.map((key) => ({ opcode: Op.SETQ, key, extras: setExtras(0, 0), value: `v-${key}` })));
    refused += rs.filter((r) => r.opcode === Op.SETQ).length;
    for (const k of keys) want.set(k, `v-${k}`);
    await settled(c);
  }
  t.equal(refused, 0, '6,000 SETs in rounds of 400, all stored');
  const st = await c.stats();
  t.ok(Number(st.get('cache_items')) < LIMIT, `resident entries stay under the limit (${st.get('cache_items')})`);
  t.equal(Number(st.get('curr_items')), 6000);
  t.equal(await wrong(c, want), 0, 'every key reads back, most from LMDB');
});

t.test('full of uncommitted writes: ENOMEM, reads unaffected, writes again after the commit, nothing acknowledged lost', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const env = { LMCACHED_RESIDENT_ENTRY_LIMIT: String(LIMIT) };
  const a = await startServer({ dataDir: dir, args: ['-m', '64'], env });
  t.teardown(() => a.stop('SIGKILL'));
  const c = await clientFor(t, a.port);
  const want = new Map<string, string | null>();
  const old = Array.from({ length: 100 }, (_, i) => `old${i}`);
  await c.pipeline(...old.map((key) => ({ opcode: Op.SET, key, extras: setExtras(0, 0), value: `v-${key}` })));
  for (const k of old) want.set(k, `v-${k}`);
  await settled(c);
  await a.stop('SIGTERM');

  // Every write now waits 30 s for its batch: the table fills with pinned entries. The refusals
  // are checked first, well inside that window even on a loaded machine.
  const b = await startServer({ dataDir: dir, args: ['-m', '64'], env: { ...env, LMCACHED_FLUSH_DELAY_MS: '30000' } });
  t.teardown(() => b.stop('SIGKILL'));
  const d = await clientFor(t, b.port);
  const keys = Array.from({ length: LIMIT + 200 }, (_, i) => `new${i}`);
  // Once a write waits more than 20 ms for its commit, --ack=memory holds the replies behind it
  // until the commit: on a loaded machine the pipeline's replies come only after the 30 s. So
  // everything that needs the table full is checked from other connections while they wait.
  const replies = d.pipeline(...keys.map((key, i) => ({ opcode: Op.SET, key, extras: setExtras(0, 0), value: `v-${key}`, opaque: i })));
  const e = await clientFor(t, b.port);
  await until(async () => Number((await e.stats()).get('cmd_set')) >= keys.length, 'every SET to be taken');
  const del = await e.call({ opcode: Op.DELETE, key: 'old0' });
  t.equal(del.status, ENOMEM, 'a DELETE needs an entry too: refused, the item kept');
  t.equal(await textCommand(b.port, 'set text 0 0 1\r\nx\r\n'), 'SERVER_ERROR out of memory storing object\r\n', 'the text protocol answers as memcached does');
  // The first `n` SETs were stored, the rest refused: read back while the table is full.
  const resident = Number((await e.stats()).get('flusher_backlog'));
  t.ok(resident > 0 && resident <= LIMIT, `${resident} writes waiting, no more than the limit`);
  const whileFull = new Map(want);
  keys.forEach((k, i) => whileFull.set(k, i < resident ? `v-${k}` : null));
  t.equal(await wrong(e, whileFull), 0, 'another connection reads every stored key and the old ones (from LMDB)');

  const sets = (await replies).filter((r) => r.opcode === Op.SET);
  const stored = sets.filter((r) => r.status === St.SUCCESS).map((r) => r.opaque);
  const refused = sets.filter((r) => r.status !== St.SUCCESS);
  t.equal(stored.length, resident, `${stored.length} SETs acknowledged, those read back`);
  t.ok(refused.length >= 200, `${refused.length} refused`);
  t.ok(
    refused.every((r) => r.status === ENOMEM),
    'each refusal is ENOMEM',
  );
  t.same(stored, [...stored.keys()], 'the stored ones are the first ones');
  for (const i of stored) want.set(keys[i], `v-${keys[i]}`);
  for (const r of refused) want.set(keys[r.opaque], null);

  // The held batch commits; the entries turn clean and ejectable.
  await settled(e, 90_000);
  const again = await e.call({ opcode: Op.SET, key: 'after', extras: setExtras(0, 0), value: 'v-after' });
  t.equal(again.status, St.SUCCESS, 'writes are taken again once the held writes commit');
  want.set('after', 'v-after');
  await settled(e, 90_000);
  t.equal(await wrong(e, want), 0, 'every acknowledged write there, every refused one absent');

  await b.stop('SIGKILL');
  const f = await startServer({ dataDir: dir, args: ['-m', '64'], env });
  t.teardown(() => f.stop('SIGKILL'));
  const g = await clientFor(t, f.port);
  t.equal(await wrong(g, want), 0, 'after SIGKILL and restart: the same');
});
