/**
 * The correctness idea everything hangs on: after an unclean shutdown each active vBucket gets
 * a new failover entry, and it is on disk before any new seqno exists. Proven by crashing the
 * process (SIGKILL) right after every warmup step, and after n warmup expiries, then checking
 * the history a client can see; and shown able to fail with the legacy step order.
 */
import { cpSync } from 'node:fs';
import net from 'node:net';
import t, { type Test } from 'tap';
import { WARMUP_STEPS } from '../../lib/engine/warmup.js';
import { legacyWarmupOrder } from '../../lib/test-hooks.js';
import { withClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { failoverLog, vbDetails, type Entry } from '../fixtures/kv.js';
import { removeDataDir, runToExit, startServer, tempDataDir } from '../fixtures/server.js';

const ARGS = ['--vbuckets', '4', '--ack', 'persist'];
const KEEP = 10;
const EXPIRE = 20;

interface Crashed {
  dir: string;
  /** Failover log of vBucket 0 before the crash, and its persisted high seqno then. */
  before: Entry[];
  h1: number;
}


/** A data directory whose server was SIGKILLed after writing items, some of which have
 * expired since, so the next warmup expires them (new seqnos). */
async function makeCrashedTemplate(): Promise<Crashed> {
  const dir = tempDataDir();
  const a = await startServer({ dataDir: dir, args: ARGS });
  const { before, h1 } = await withClient(a.port, async (c) => {
    for (let i = 0; i < KEEP; i++) await c.call({ opcode: Op.SET, key: `keep-${i}`, extras: setExtras(0, 0), value: 'k' });
    for (let i = 0; i < EXPIRE; i++) await c.call({ opcode: Op.SET, key: `ttl-${i}`, extras: setExtras(0, 1), value: 't' });
    const d = await vbDetails(c, 0);
    if (d.persisted !== d.high) throw new Error('persist mode: everything acknowledged is persisted');
    return { before: await failoverLog(c, 0), h1: d.persisted };
  });
  await a.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 2100)); // the TTL-1 items are now expired
  return { dir, before, h1 };
}

function copyOf(template: Crashed): string {
  const dir = tempDataDir();
  cpSync(template.dir, dir, { recursive: true });
  return dir;
}

/**
 * The history check. `before` is the log before the first crash, `after` the log once the server
 * is up again after the crash run and one more (unclean) start, `h1` the persisted high seqno at
 * the first crash. The last start always adds an entry at its persisted high seqno h2. If the
 * crash run persisted seqnos (h2 > h1), they were issued after that run's warmup, so an entry
 * at h1 from that run must be on disk, or those seqnos are attributed to the old branch and a
 * consumer that saw the old branch's lost tail above h1 is never told to roll back.
 */
function historyProblem(before: Entry[], after: Entry[], h1: number): string | null {
  const added = after.filter((e) => !before.some((b) => b.uuid === e.uuid));
  const kept = after.slice(added.length);
  if (JSON.stringify(kept.map((e) => [String(e.uuid), e.seqno])) !== JSON.stringify(before.map((e) => [String(e.uuid), e.seqno]))) return 'older entries changed';
  if (added.length === 0) return 'no entry for the unclean restarts';
  const h2 = added[0].seqno;
  if (h2 > h1) {
    if (added.length !== 2 || added[1].seqno !== h1) return `seqnos ${h1 + 1}..${h2} are on disk but no failover entry at ${h1} is: they look like history of the old branch`;
  } else if (added.length > 2 || added.some((e) => e.seqno !== h1)) {
    return `unexpected entries ${JSON.stringify(added.map((e) => e.seqno))}`;
  }
  return null;
}

/** Crash run with the given hook environment, then a normal start; returns what a client sees. */
async function crashThenRestart(t: Test, template: Crashed, env: Record<string, string>): Promise<{ after: Entry[]; h2: number; added: number; finalItems: number; gone: boolean; log: string }> {
  const dir = copyOf(template);
  t.teardown(() => removeDataDir(dir));
  const crash = await runToExit({ dataDir: dir, args: ARGS, env });
  t.equal(crash.signal, 'SIGKILL', 'the crash run was killed');
  t.match(crash.log, /test hook: SIGKILL/, 'by the hook');
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  return withClient(b.port, async (c) => {
    const after = await failoverLog(c, 0);
    const added = after.filter((e) => !template.before.some((x) => x.uuid === e.uuid)).length;
    const d = await vbDetails(c, 0);
    const gone = (await c.call({ opcode: Op.GET, key: 'ttl-0' })).status === St.KEY_ENOENT;
    const kept = (await c.call({ opcode: Op.GET, key: 'keep-0' })).status === St.SUCCESS;
    if (!kept) throw new Error('an item without TTL was lost');
    return { after, h2: after[0].seqno, added, finalItems: d.items, gone, log: crash.log };
  });
}

t.test('crash-at-every-step', async (t) => {
  const template = await makeCrashedTemplate();
  t.teardown(() => removeDataDir(template.dir));
  const persistAt = WARMUP_STEPS.findIndex((s) => s.name === 'persistVBState');
  t.equal(WARMUP_STEPS[persistAt - 1].name, 'createVBuckets', 'persistVBState comes directly after createVBuckets');
  const scanAt = WARMUP_STEPS.findIndex((s) => s.name === 'scanItems');
  t.ok(scanAt > persistAt && WARMUP_STEPS.findIndex((s) => s.name === 'enableTraffic') > persistAt, 'nothing that issues seqnos runs before it');

  for (const [i, step] of WARMUP_STEPS.entries()) {
    t.test(`SIGKILL right after ${step.name}`, async (t) => {
      const r = await crashThenRestart(t, template, { LMCACHED_CRASH_AFTER_STEP: step.name });
      t.equal(historyProblem(template.before, r.after, template.h1), null, 'history intact');
      t.equal(r.added, i >= persistAt ? 2 : 1, i >= persistAt ? "the crash run's entry is on disk" : 'the crash run persisted no entry (and issued no seqno)');
      if (i >= scanAt) t.equal(r.h2, template.h1 + EXPIRE, 'the crash run persisted its expirations before dying');
      t.ok(r.gone, 'expired items are gone');
      t.equal(r.finalItems, KEEP, 'item count after the last warmup');
    });
  }

  t.test('SIGKILL after n warmup expiries are persisted', async (t) => {
    const r = await crashThenRestart(t, template, { LMCACHED_CRASH_AFTER_EXPIRIES: '5' });
    t.ok(r.h2 >= template.h1 + 5, `at least 5 expirations persisted (${r.h2 - template.h1})`);
    t.equal(historyProblem(template.before, r.after, template.h1), null, 'history intact');
  });

  t.test('the check can fail: legacy order (failover table persisted only at the end)', async (t) => {
    t.not(legacyWarmupOrder(WARMUP_STEPS).findIndex((s) => s.name === 'persistVBState'), persistAt, 'the legacy order differs');
    const hooks: Array<Record<string, string>> = [{ LMCACHED_CRASH_AFTER_EXPIRIES: '5' }, { LMCACHED_CRASH_AFTER_STEP: 'scanItems' }];
    for (const env of hooks) {
      const r = await crashThenRestart(t, template, { ...env, LMCACHED_WARMUP_LEGACY_ORDER: '1' });
      t.ok(r.h2 > template.h1, 'the crash run persisted new seqnos');
      t.match(historyProblem(template.before, r.after, template.h1) ?? '', /no failover entry at/, `the lost entry is detected (${JSON.stringify(env)})`);
    }
  });
});

t.test('clean shutdown adds no entry; unclean adds exactly one per vBucket', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const logs = async (port: number): Promise<Entry[][]> =>
    withClient(port, async (c) => {
      const out: Entry[][] = [];
      for (const vb of [0, 1, 2, 3]) out.push(await failoverLog(c, vb));
      return out;
    });
  const a = await startServer({ dataDir: dir, args: ARGS });
  await withClient(a.port, (c) => c.call({ opcode: Op.SET, key: 'x', extras: setExtras(0, 0), value: 'x' }));
  const first = await logs(a.port);
  t.ok(first.every((l) => l.length === 1 && l[0].seqno === 0), 'a new vBucket has one entry at seqno 0');
  t.equal((await a.stop('SIGTERM')).code, 0);
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.same((await logs(b.port)).map((l) => l.map((e) => String(e.uuid))), first.map((l) => l.map((e) => String(e.uuid))), 'clean shutdown: no new entry');
  await b.stop('SIGKILL');
  const c = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => c.stop('SIGKILL'));
  const third = await logs(c.port);
  third.forEach((l, vb) => {
    t.equal(l.length, 2, `vb ${vb}: exactly one new entry`);
    t.equal(l[0].seqno, vb === 0 ? 1 : 0, `vb ${vb}: at the persisted high seqno`);
  });
  t.match(c.log(), /unclean shutdown detected; 4 new failover entries/);
});

t.test('stats warmup shows the order, every step and its timing', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS });
  await withClient(a.port, async (c) => {
    const w = await c.stats('warmup');
    t.equal(w.get('ep_warmup_state'), 'done');
    t.equal(w.get('ep_warmup_order'), WARMUP_STEPS.map((s) => s.name).join(','));
    for (const s of WARMUP_STEPS) t.ok(w.has(`ep_warmup_step_${s.name}_ms`), `duration of ${s.name}`);
    t.ok(Number(w.get('ep_warmup_traffic_enabled_ms')) <= Number(w.get('ep_warmup_complete_ms')));
  });
  await a.stop('SIGKILL');
});

t.test('item commands answer ETMPFAIL until warmup enables traffic; others work', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_WARMUP_STEP_DELAY_MS: '700' }, readyWhen: /listening/ });
  t.teardown(() => a.stop('SIGKILL'));
  await withClient(a.port, async (c) => {
    const early = await c.pipeline(
      { opcode: Op.GET, key: 'k', opaque: 1 },
      { opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v', opaque: 2 },
      { opcode: Op.DELETE, key: 'k', opaque: 3 },
      { opcode: Op.VERSION, opaque: 4 },
    );
    t.same(early.map((r) => r.status), [St.ETMPFAIL, St.ETMPFAIL, St.ETMPFAIL, St.SUCCESS, St.SUCCESS]);
    const text = await new Promise<string>((resolve) => {
      const s = net.connect(a.port, '127.0.0.1', () => s.write('get k\r\n'));
      s.setEncoding('latin1');
      s.once('data', (d: string) => (s.destroy(), resolve(d)));
    });
    t.equal(text, 'SERVER_ERROR temporary failure\r\n', 'the text protocol says so too');
    const w = await c.stats('warmup');
    t.equal(w.get('ep_warmup_state'), 'running', 'stats warmup answers while warming up');
    while ((await c.stats('warmup')).get('ep_warmup_state') !== 'done') await new Promise((r) => setTimeout(r, 100));
    t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS, 'served after warmup');
  });
});
