/**
 * A replica whose disk fills up stays up, holds the active's stream back through DCP flow
 * control instead of piling the stream up in memory, and catches up by itself once space is
 * free again. The replica's data directory is on a small tmpfs the test mounts (root; CI runs
 * as root).
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { VBUCKETS, caughtUp, content, freePort, startNode } from '../fixtures/pair.js';
import { removeDataDir, tempDataDir } from '../fixtures/server.js';
import { mountTmpfs } from '../fixtures/small-fs.js';
import { until } from '../fixtures/wait.js';

const VALUE = Buffer.alloc(100 * 1024, 0x62);
const WRITES = 600; // 60 MB on the active
const BOUND = 16 * 1024 * 1024 + 10 * 1024 * 1024 + 2 * 1024 * 1024; // backlog gate + window + one chunk

t.test('a replica on a full disk holds its stream back, then catches up', async (t) => {
  const dir = mountTmpfs(t, 128);
  if (dir === null) return;
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(100 * 1024 * 1024, 1));
  const dirB = join(dir, 'data');
  mkdirSync(dirB);
  const dirA = tempDataDir();
  t.teardown(() => removeDataDir(dirA));

  const [pa, pb] = [await freePort(), await freePort()];
  const a = await startNode(pa, { dataDir: dirA });
  t.teardown(() => a.stop('SIGKILL'));
  const b = await startNode(pb, { dataDir: dirB, replicaOf: pa });
  t.teardown(() => b.stop('SIGKILL'));
  const c = await RawClient.connect(pa);
  t.teardown(() => c.end());
  for (let i = 0; i < WRITES; i += 20) {
    const replies = await c.pipeline(...Array.from({ length: 20 }, (_, j) => ({ opcode: Op.SET, key: `big-${i + j}`, vbucket: (i + j) % VBUCKETS, extras: setExtras(0, 0), value: VALUE })));
    t.ok(replies.every((r) => r.status === St.SUCCESS), `writes ${i}-${i + 19} on the active`);
  }

  const r = await RawClient.connect(pb);
  t.teardown(() => r.end());
  await until(async () => (await r.stats()).get('writes_blocked') === '1', 'the replica\'s disk to fill up');
  let most = 0;
  for (let n = 0; n < 20; n++) {
    most = Math.max(most, Number((await r.stats()).get('unpersisted_bytes')));
    await new Promise((res) => setTimeout(res, 50));
  }
  t.ok(most <= BOUND, `what the replica holds in memory stays bounded (${(most / 1048576).toFixed(1)} MB, bound ${(BOUND / 1048576).toFixed(0)} MB)`);
  t.equal(b.proc.exitCode, null, 'the replica is still running');

  unlinkSync(filler);
  await caughtUp(pa, pb, 'the replica to catch up once space is free');
  await until(async () => (await r.stats()).get('writes_blocked') === '0', 'the replica\'s commits to succeed again (its retry back-off is up to 2 s)');
  t.same([...(await content(pb)).keys()], [...(await content(pa)).keys()], 'the replica holds every key');
  t.notMatch(b.log(), /unhandled rejection|uncaught exception/, 'nothing escaped');
});
