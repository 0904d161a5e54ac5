/**
 * Replication with SASL on: an active started with -S refuses a replica that presents no or
 * wrong credentials (it keeps retrying, copies nothing), and a replica with --replica-user and
 * --replica-password-file authenticates and converges.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { content, pairPlaces, startNode, vbHighs, VBUCKETS } from '../fixtures/pair.js';
import { tempDataDir, removeDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

t.test('a replica authenticates to an active started with -S', async (t) => {
  const secrets = tempDataDir();
  t.teardown(() => removeDataDir(secrets));
  const pwdb = join(secrets, 'users');
  writeFileSync(pwdb, 'replicator:rep-pass\nclient:cli-pass\n');
  const goodPassword = join(secrets, 'good');
  writeFileSync(goodPassword, 'rep-pass\n');
  const badPassword = join(secrets, 'bad');
  writeFileSync(badPassword, 'guess\n');

  const { dirA, dirB, pa, pb } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA, extra: ['-S', '--sasl-pwdb', pwdb] });
  t.teardown(() => a.stop('SIGKILL'));
  const c = await RawClient.connect(pa);
  t.teardown(() => c.end());
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0client\0cli-pass' })).status, St.SUCCESS, 'a client authenticates');
  const writes = await c.pipeline(...Array.from({ length: 40 }, (_, i) => ({ opcode: Op.SET, key: `k${i}`, vbucket: i % VBUCKETS, extras: setExtras(0, 0), value: `v${i}` })));
  t.ok(writes.every((r) => r.status === St.SUCCESS));

  const wrong = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: ['--replica-user', 'replicator', '--replica-password-file', badPassword] });
  t.teardown(() => wrong.stop('SIGKILL'));
  await until(() => /replication: cannot connect to .*AUTH_ERROR/.test(wrong.log()), 'the wrong password to be refused');
  t.match(a.log(), /authentication failed \(mechanism "SCRAM-SHA-512", user "replicator"\)/, 'the active logs the refused user: the replica uses SCRAM, no password on the wire');
  const r = await RawClient.connect(pb);
  t.equal((await r.stats('vbucket-details 0')).get('vb_0:high_seqno'), '0', 'nothing was copied');
  r.end();
  await wrong.stop('SIGTERM');

  const b = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: ['--replica-user', 'replicator', '--replica-password-file', goodPassword] });
  t.teardown(() => b.stop('SIGKILL'));
  // A answers nothing unauthenticated, so the replica is read alone: 40 writes, 40 seqnos.
  await until(async () => [...(await vbHighs(pb)).values()].reduce((n, v) => n + v.high, 0) === 40, 'the replica to copy every item');
  const copied = await content(pb);
  t.equal(copied.size, 40, 'the replica holds every item');
  t.equal(copied.get('1/k1')?.value, 'v1');
});
