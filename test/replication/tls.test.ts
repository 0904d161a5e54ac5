/**
 * Replication with SASL and TLS on, both nodes configured alike (-S, -Z with client
 * certificates required, --replica-user, --replica-tls-*): the replica converges over an
 * encrypted, authenticated link; a replica without a client certificate, or trusting another
 * CA, copies nothing and says why; a takeover moves a vBucket to the replica and the old active
 * follows the new one over TLS too; `lmcached tail` reads the stream with the same options.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { makeCerts } from '../fixtures/certs.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras, u32 } from '../fixtures/frames.js';
import { pairPlaces, startNode, VBUCKETS } from '../fixtures/pair.js';
import { CLI, removeDataDir, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const GET_REPLICA = 0x83;
const DCP_ADD_STREAM = 0x51;
const certs = makeCerts();
t.teardown(() => certs.remove());

function secrets(t: Test): { pwdb: string; password: string; wrongPassword: string } {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const pwdb = join(dir, 'users');
  writeFileSync(pwdb, 'replicator:rep-pass\nclient:cli-pass\n');
  const password = join(dir, 'password');
  writeFileSync(password, 'rep-pass\n');
  const wrongPassword = join(dir, 'wrong');
  writeFileSync(wrongPassword, 'guess\n');
  return { pwdb, password, wrongPassword };
}

/** -S, -Z requiring client certificates, and the client side for following another node. */
function secureArgs(s: { pwdb: string; password: string }, client: { ca?: string; withCert?: boolean } = {}): string[] {
  return [
    '-S', '--sasl-pwdb', s.pwdb,
    '-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey},ssl_ca_cert=${certs.ca},ssl_verify_mode=2`,
    '--replica-user', 'replicator', '--replica-password-file', s.password,
    '--replica-tls-ca', client.ca ?? certs.ca,
    ...(client.withCert === false ? [] : ['--replica-tls-cert', certs.clientCert, '--replica-tls-key', certs.clientKey]),
  ];
}

/** A TLS client with a client certificate, authenticated as `client`. */
async function client(t: Test, port: number): Promise<RawClient> {
  const c = await RawClient.connectTls(port, { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) });
  t.teardown(() => c.end());
  const r = await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0client\0cli-pass' });
  if (r.status !== St.SUCCESS) throw new Error(`auth: ${r.status}`);
  return c;
}

async function replicaHolds(c: RawClient, keys: string[]): Promise<boolean> {
  for (const [i, key] of keys.entries()) {
    const r = await c.call({ opcode: GET_REPLICA, key, vbucket: i % VBUCKETS });
    if (r.status !== St.SUCCESS || r.value.toString() !== `v-${key}`) return false;
  }
  return true;
}

t.test('a replica follows its active over TLS with SASL; without the right certificate it copies nothing', async (t) => {
  const s = secrets(t);
  const { dirA, dirB, pa, pb } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA, extra: secureArgs(s) });
  t.teardown(() => a.stop('SIGKILL'));
  const ca = await client(t, pa);
  const keys = Array.from({ length: 60 }, (_, i) => `k${i}`);
  const writes = await ca.pipeline(...keys.map((key, i) => ({ opcode: Op.SETQ, key, vbucket: i % VBUCKETS, extras: setExtras(0, 0), value: `v-${key}` })));
  t.same(writes.map((r) => r.status), [St.SUCCESS], 'written over TLS');

  // No client certificate: the active's ssl_verify_mode 2 refuses the link.
  const noCert = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: secureArgs(s, { withCert: false }) });
  t.teardown(() => noCert.stop('SIGKILL'));
  await until(() => /replication: cannot connect to 127\.0\.0\.1:\d+: .*alert certificate required/.test(noCert.log()), 'the link without a certificate to fail', 10_000).catch((err: unknown) => {
    console.error(noCert.log());
    throw err;
  });
  await noCert.stop('SIGTERM');
  // Trusting another CA: the replica refuses the active.
  const wrongCa = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: secureArgs(s, { ca: certs.otherCa }) });
  t.teardown(() => wrongCa.stop('SIGKILL'));
  await until(() => /replication: cannot connect to .*(self.signed|unable to (get|verify)|certificate)/i.test(wrongCa.log()), 'the untrusted active to be refused');
  await wrongCa.stop('SIGTERM');
  // The right certificate and a wrong password: SASL still refuses.
  const wrongPassword = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: secureArgs({ ...s, password: s.wrongPassword }) });
  t.teardown(() => wrongPassword.stop('SIGKILL'));
  await until(() => /replication: cannot connect to .*AUTH_ERROR/.test(wrongPassword.log()), 'the wrong password to be refused');
  await wrongPassword.stop('SIGTERM');
  t.match(a.log(), /authentication failed \(mechanism "SCRAM-SHA-512", user "replicator"\)/);
  t.ok(Number((await ca.stats()).get('ssl_handshake_errors')) >= 1, 'the refused certificate was counted');

  const b = await startNode(pb, { dataDir: dirB, replicaOf: pa, extra: secureArgs(s) });
  t.teardown(() => b.stop('SIGKILL'));
  const cb = await client(t, pb);
  await until(() => replicaHolds(cb, keys), 'the replica to hold every item');
  t.pass('every item reached the replica over TLS');

  const live = await ca.call({ opcode: Op.SET, key: 'live', vbucket: 1, extras: setExtras(0, 0), value: 'v-live' });
  t.equal(live.status, St.SUCCESS);
  await until(async () => (await cb.call({ opcode: GET_REPLICA, key: 'live', vbucket: 1 })).value.toString() === 'v-live', 'a live write to follow');

  // A planned switchover of vb 1: B takes it, A follows B over TLS with the same options.
  t.equal((await cb.call({ opcode: DCP_ADD_STREAM, vbucket: 1, extras: u32(1) })).status, St.SUCCESS, 'takeover of vb 1');
  t.equal((await cb.call({ opcode: Op.SET, key: 'after', vbucket: 1, extras: setExtras(0, 0), value: 'v-after' })).status, St.SUCCESS, 'B takes writes for vb 1');
  await until(async () => (await ca.call({ opcode: GET_REPLICA, key: 'after', vbucket: 1 })).value.toString() === 'v-after', 'A to follow B for vb 1');
  t.match(a.log(), /vb 1 is a replica of 127\.0\.0\.1:\d+ now/);
});

t.test('lmcached tail reads a server with -S and -Z', async (t) => {
  const s = secrets(t);
  const { dirA, pa } = await pairPlaces(t);
  const a = await startNode(pa, { dataDir: dirA, extra: secureArgs(s) });
  t.teardown(() => a.stop('SIGKILL'));
  const c = await client(t, pa);
  await c.call({ opcode: Op.SET, key: 'tailed', vbucket: 2, extras: setExtras(3, 0), value: 'xyz' });
  const args = ['tail', '--port', String(pa), '--vbucket', '2', '--user', 'replicator', '--password-file', s.password, '--tls-ca', certs.ca, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey];
  const tail = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => tail.kill('SIGKILL'));
  let out = '';
  tail.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('"tailed"'), 'the item');
  t.match(out, /^vb=2 seqno=1 mutation key="tailed" flags=3 expiry=0 bytes=3$/m);
  const all = spawn(process.execPath, [CLI, 'tail', '--port', String(pa), '--user', 'replicator', '--password-file', s.password, '--tls-ca', certs.ca, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => all.kill('SIGKILL'));
  let allOut = '';
  all.stdout.on('data', (d: Buffer) => (allOut += d.toString()));
  await until(() => allOut.includes('"tailed"'), 'every active vBucket, listed over the authenticated link');
});
