/**
 * SET records written straight into the resident table's arena (item-cache.ts putDirtyChunk),
 * over a real socket: writes held uncommitted (LMCACHED_FLUSH_DELAY_MS) while keys are
 * overwritten with values of other sizes, and a vBucket deleted or the bucket flushed under
 * them; then more writes, which take the chunks given back. Every key reads its newest value
 * before and after the commit, and after a SIGKILL and restart.
 */
import t, { type Test } from 'tap';
import { Op, St, setExtras, type Req } from '../fixtures/frames.js';
import { KvOp } from '../fixtures/kv.js';
import { withClient, type RawClient } from '../fixtures/client.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';

const VBUCKETS = 4;
const ARGS = ['--vbuckets', String(VBUCKETS), '--ack', 'memory'];
const vbOf = (i: number): number => i % VBUCKETS;

/** Values of several lengths, so that several chunk classes are used and reused. */
const value = (round: string, i: number): string => `${round}-${i}-${'v'.repeat((i * 7 + round.length * 13) % 120)}`;

const sets = (keys: number[], round: string, expected: Map<number, string>): Req[] =>
  keys.map((i) => {
    expected.set(i, value(round, i));
    return { opcode: Op.SETQ, vbucket: vbOf(i), key: `k${i}`, extras: setExtras(0, 0), value: value(round, i) };
  });

/** Sends `frames` in one pipeline (the server takes them in one go, before any commit); returns
 * the answers other than NOOP's (a quiet SET answers only if it fails). */
async function send(c: RawClient, ...frames: Req[]): Promise<Array<[number, number]>> {
  const rs = await c.pipeline(...frames);
  return rs.filter((r) => r.opcode !== Op.NOOP).map((r) => [r.opcode, r.status]);
}

/** Keys whose GET does not give `expected` (absent keys must be NOT_FOUND). */
async function wrong(c: RawClient, keys: number[], expected: Map<number, string>): Promise<string[]> {
  const rs = await c.pipeline(...keys.map((i) => ({ opcode: Op.GET, vbucket: vbOf(i), key: `k${i}`, opaque: i })));
  const bad: string[] = [];
  for (const r of rs.filter((x) => x.opcode === Op.GET)) {
    const want = expected.get(r.opaque);
    const ok = want === undefined ? r.status === St.KEY_ENOENT : r.status === St.SUCCESS && r.value.toString() === want;
    if (!ok) bad.push(`k${r.opaque}: ${r.status} ${r.value.toString().slice(0, 20)}`);
  }
  return bad;
}

async function committed(c: RawClient): Promise<boolean> {
  for (let n = 0; n < 200; n++) {
    const s = await c.stats();
    if (s.get('flusher_backlog') === '0' && s.get('unpersisted_bytes') === '0') return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const ALL = range(0, 600);

async function afterRestart(t: Test, dir: string, expected: Map<number, string>): Promise<void> {
  const b = await startServer({ dataDir: dir, args: ARGS });
  t.teardown(() => b.stop('SIGKILL'));
  await withClient(b.port, async (c) => t.same(await wrong(c, ALL, expected), [], 'after a SIGKILL and restart: every key as it was'));
}

/** The checks both tests end with: every key right before and after the commit, then after
 * more writes (new keys take the chunks the commit gave back, then `rewrite` again). */
async function checkThroughCommit(t: Test, c: RawClient, expected: Map<number, string>, rewrite: number): Promise<void> {
  t.same(await wrong(c, ALL, expected), [], 'before the commit');
  t.ok(await committed(c), 'committed');
  await send(c, ...sets(range(300, 600), 'd', expected), ...sets(range(0, rewrite), 'e', expected));
  t.same(await wrong(c, ALL, expected), [], 'after the commit and more writes');
  t.ok(await committed(c), 'committed again');
}

t.test('a vBucket deleted under uncommitted SETs and overwrites: every key reads its newest value', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_FLUSH_DELAY_MS: '400' } });
  const expected = new Map<number, string>();
  await withClient(a.port, async (c) => {
    const before = [...sets(range(0, 300), 'a', expected), ...sets(range(0, 150), 'b', expected)];
    for (const i of range(0, 300)) if (vbOf(i) === 3) expected.delete(i);
    const after = sets(
      range(100, 300).filter((i) => vbOf(i) !== 3),
      'c',
      expected,
    );
    const answers = await send(c, ...before, { opcode: KvOp.DEL_VBUCKET, vbucket: 3 }, { opcode: KvOp.SET_VBUCKET, vbucket: 3, extras: Buffer.from([1]) }, ...after);
    t.same(answers, [[KvOp.DEL_VBUCKET, St.SUCCESS], [KvOp.SET_VBUCKET, St.SUCCESS]], 'every SET stored; vBucket 3 deleted and made again, empty');
    await checkThroughCommit(t, c, expected, 50);
  });
  await a.stop('SIGKILL');
  await afterRestart(t, dir, expected);
});

t.test('a FLUSH under uncommitted SETs and overwrites: the writes after it read right', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const a = await startServer({ dataDir: dir, args: ARGS, env: { LMCACHED_FLUSH_DELAY_MS: '400' } });
  const expected = new Map<number, string>();
  await withClient(a.port, async (c) => {
    const before = [...sets(range(0, 300), 'a', expected), ...sets(range(0, 100), 'b', expected)];
    expected.clear();
    const answers = await send(c, ...before, { opcode: Op.FLUSH }, ...sets(range(50, 250), 'c', expected));
    t.same(answers, [[Op.FLUSH, St.SUCCESS]], 'every SET stored, and the FLUSH');
    await checkThroughCommit(t, c, expected, 100);
  });
  await a.stop('SIGKILL');
  await afterRestart(t, dir, expected);
});
