/**
 * memcached's -S: SASL PLAIN on the binary protocol against a password file. Before it has
 * authenticated, a connection gets AUTH_ERROR for every command but SASL_LIST_MECHS, SASL_AUTH,
 * SASL_STEP and VERSION (memcached's list), DCP and vBucket commands included; wrong passwords,
 * unknown users and mechanisms, empty and garbage payloads fail and leave it unauthenticated;
 * one connection's authentication is not another's. SCRAM-SHA-256/512 with a client written
 * here from RFC 5802. Real clients: memjs and pylibmc.
 */
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { removeDataDir, runToExit, startServer, tempDataDir, tempFile } from '../fixtures/server.js';

const SASL_LIST_MECHS = 0x20;
const SASL_AUTH = 0x21;
const SASL_STEP = 0x22;
const AUTH_ERROR = 0x20;
const AUTH_CONTINUE = 0x21;

const plain = (user: string, password: string): Buffer => Buffer.from(`\0${user}\0${password}`);

t.test('with -S, nothing but authentication before authentication', async (t) => {
  const pwdb = tempFile(t, 'alice:s3cret\nbob:hunter2\n');
  const server = await startServer({ args: ['-S', '--sasl-pwdb', pwdb] });
  t.teardown(() => server.stop('SIGKILL'));
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());

  const refused: Array<[string, { opcode: number; key?: string; extras?: Buffer; value?: string }]> = [
    ['GET', { opcode: Op.GET, key: 'k' }],
    ['SET', { opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' }],
    ['DELETE', { opcode: Op.DELETE, key: 'k' }],
    ['FLUSH', { opcode: Op.FLUSH }],
    ['STAT', { opcode: Op.STAT }],
    ['NOOP', { opcode: Op.NOOP }],
    ['DCP_OPEN', { opcode: 0x50, key: 'x', extras: Buffer.from([0, 0, 0, 0, 0, 0, 0, 1]) }],
    ['SET_VBUCKET', { opcode: 0x3d, extras: Buffer.from([1]) }],
    ['GET_FAILOVER_LOG', { opcode: 0x96 }],
    ['GET_CLUSTER_CONFIG', { opcode: 0xb5 }],
  ];
  for (const [name, req] of refused) t.equal((await c.call(req)).status, AUTH_ERROR, `${name} before authentication: AUTH_ERROR`);
  t.equal((await c.call({ opcode: Op.VERSION })).status, St.SUCCESS, 'VERSION is allowed, as in memcached');
  const mechs = await c.call({ opcode: SASL_LIST_MECHS });
  t.same([mechs.status, mechs.value.toString()], [St.SUCCESS, 'SCRAM-SHA-512 SCRAM-SHA-256 PLAIN'], 'SASL_LIST_MECHS lists SCRAM and PLAIN, strongest first');

  const failures: Array<[string, string, Buffer]> = [
    ['wrong password', 'PLAIN', plain('alice', 'nope')],
    ['unknown user', 'PLAIN', plain('mallory', 's3cret')],
    ['unknown mechanism', 'SCRAM-SHA-1', plain('alice', 's3cret')],
    ['empty payload', 'PLAIN', Buffer.alloc(0)],
    ['garbage payload', 'PLAIN', Buffer.from([0xff, 0x00, 0x41])],
    ['another user\'s password', 'PLAIN', plain('bob', 's3cret')],
  ];
  for (const [name, mech, payload] of failures) t.equal((await c.call({ opcode: SASL_AUTH, key: mech, value: payload })).status, AUTH_ERROR, `${name}: AUTH_ERROR`);
  t.equal((await c.call({ opcode: SASL_STEP, key: 'PLAIN', value: 'x' })).status, AUTH_ERROR, 'SASL_STEP with nothing to continue: AUTH_ERROR');
  t.equal((await c.call({ opcode: Op.GET, key: 'k' })).status, AUTH_ERROR, 'still unauthenticated after the failures');

  const ok = await c.call({ opcode: SASL_AUTH, key: 'PLAIN', value: plain('alice', 's3cret') });
  t.same([ok.status, ok.value.toString()], [St.SUCCESS, 'Authenticated'], 'the right password authenticates');
  t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS, 'then commands run');
  t.equal((await c.call({ opcode: Op.GET, key: 'k' })).value.toString(), 'v');

  const text = await new Promise<string>((resolve) => {
    const sock = net.connect(server.port, '127.0.0.1', () => sock.write('get k\r\n'));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.on('close', () => resolve(got));
  });
  t.equal(text, 'CLIENT_ERROR unauthenticated\r\n', 'a text connection gets an error and is closed (no text auth yet)');

  const other = await RawClient.connect(server.port);
  t.equal((await other.call({ opcode: Op.GET, key: 'k' })).status, AUTH_ERROR, 'another connection is not authenticated by the first');
  other.end();

  const stats = await c.stats();
  t.equal(stats.get('auth_cmds'), '8', 'auth_cmds counts every SASL_AUTH and SASL_STEP');
  t.equal(stats.get('auth_errors'), '7', 'auth_errors the failed ones');
  t.equal((await c.stats('settings')).get('auth_enabled_sasl'), 'yes');
  t.match(server.log(), /authentication failed \(mechanism "PLAIN", user "mallory"\)/, 'a failure logs the user name');
  t.notMatch(server.log(), /nope|hunter2|s3cret/, 'never a password');
});

/** A SCRAM client (RFC 5802) over SASL_AUTH / SASL_STEP; resolves with the final status and
 * whether the server's signature checked out. */
async function scram(c: RawClient, mechanism: string, hash: 'sha256' | 'sha512', user: string, password: string, tamper = false): Promise<{ status: number; serverVerified: boolean }> {
  const cnonce = randomBytes(12).toString('base64');
  const clientFirstBare = `n=${user},r=${cnonce}`;
  const first = await c.call({ opcode: SASL_AUTH, key: mechanism, value: `n,,${clientFirstBare}` });
  if (first.status !== AUTH_CONTINUE) return { status: first.status, serverVerified: false };
  const serverFirst = first.value.toString();
  const fields = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
  const nonce = fields.get('r') ?? '';
  const salted = pbkdf2Sync(password, Buffer.from(fields.get('s') ?? '', 'base64'), Number(fields.get('i')), hash === 'sha256' ? 32 : 64, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
  if (tamper) proof[0] ^= 1;
  const final = await c.call({ opcode: SASL_STEP, key: mechanism, value: `${withoutProof},p=${proof.toString('base64')}` });
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  const expected = `v=${createHmac(hash, serverKey).update(authMessage).digest('base64')}`;
  return { status: final.status, serverVerified: final.value.toString() === expected };
}

t.test('SCRAM-SHA-256 and SCRAM-SHA-512: the right password, a wrong one, a tampered proof', async (t) => {
  const pwdb = tempFile(t, 'alice:s3cret\n');
  const server = await startServer({ args: ['-S', '--sasl-pwdb', pwdb] });
  t.teardown(() => server.stop('SIGKILL'));
  for (const [mechanism, hash] of [['SCRAM-SHA-256', 'sha256'], ['SCRAM-SHA-512', 'sha512']] as const) {
    const c = await RawClient.connect(server.port);
    const ok = await scram(c, mechanism, hash, 'alice', 's3cret');
    t.same(ok, { status: St.SUCCESS, serverVerified: true }, `${mechanism}: authenticated, and the server proved it knows the password too`);
    t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS, 'then commands run');
    c.end();
    const d = await RawClient.connect(server.port);
    t.equal((await scram(d, mechanism, hash, 'alice', 'wrong')).status, AUTH_ERROR, `${mechanism}: a wrong password fails at the proof`);
    t.equal((await scram(d, mechanism, hash, 'mallory', 's3cret')).status, AUTH_ERROR, `${mechanism}: an unknown user fails at the proof too`);
    t.equal((await scram(d, mechanism, hash, 'alice', 's3cret', true)).status, AUTH_ERROR, `${mechanism}: a tampered proof fails`);
    t.equal((await d.call({ opcode: SASL_AUTH, key: mechanism, value: 'garbage' })).status, AUTH_ERROR, `${mechanism}: a malformed first message fails`);
    t.equal((await d.call({ opcode: Op.GET, key: 'k' })).status, AUTH_ERROR, 'still unauthenticated');
    d.end();
  }
});

// pylibmc's libmemcached asks Cyrus SASL, which picks SCRAM-SHA-512 from the list (with an
// authzid in its GS2 header): a second, independent SCRAM client.
t.test('real clients authenticate: memjs (PLAIN) and pylibmc (binary, SCRAM through Cyrus SASL)', async (t) => {
  const pwdb = tempFile(t, 'alice:s3cret\n');
  const server = await startServer({ args: ['-S'], env: { MEMCACHED_SASL_PWDB: pwdb } });
  t.teardown(() => server.stop('SIGKILL'));
  const memjs = createRequire(import.meta.url)('memjs') as { Client: { create(s: string, o: object): { set(k: string, v: string): Promise<boolean>; get(k: string): Promise<{ value: Buffer | null }>; close(): void } } };
  const good = memjs.Client.create(`127.0.0.1:${server.port}`, { username: 'alice', password: 's3cret', retries: 0, logger: { log: () => {} } });
  t.equal(await good.set('m', 'from-memjs'), true, 'memjs with the right password stores');
  t.equal((await good.get('m')).value?.toString(), 'from-memjs');
  good.close();
  const bad = memjs.Client.create(`127.0.0.1:${server.port}`, { username: 'alice', password: 'wrong', retries: 0, logger: { log: () => {} } });
  await t.rejects(bad.set('m', 'x'), 'memjs with a wrong password is refused');
  bad.close();

  const script = `
import sys, pylibmc
port = int(sys.argv[1])
mc = pylibmc.Client(["127.0.0.1:%d" % port], binary=True, username="alice", password="s3cret")
assert mc.set("p", "from-pylibmc") is True, "set"
assert mc.get("p") in ("from-pylibmc", b"from-pylibmc"), "get %r" % (mc.get("p"),)
assert mc.get("m") in ("from-memjs", b"from-memjs"), "memjs's item %r" % (mc.get("m"),)
bad = pylibmc.Client(["127.0.0.1:%d" % port], binary=True, username="alice", password="wrong")
try:
    bad.set("p", "x")
    print("FAIL wrong password accepted")
    sys.exit(1)
except pylibmc.Error:
    pass
print("PASS")
`;
  const run = spawnSync('/usr/bin/python3', ['-c', script, String(server.port)], { encoding: 'utf8', timeout: 60_000 });
  t.equal(run.stdout.trim(), 'PASS', `pylibmc with SASL (${run.stderr.trim().split('\n').pop() ?? ''})`);
});

t.test('-S without users, or with a malformed file, stops the start with one line', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const none = await runToExit({ dataDir, args: ['-S'], env: { MEMCACHED_SASL_PWDB: '' } });
  t.equal(none.code, 78, 'no password file: exit 78 (EX_CONFIG)');
  t.match(none.log, /-S needs the SASL users/);
  const bad = tempFile(t, 'alice:s3cret\nno-colon-here\n');
  const malformed = await runToExit({ dataDir, args: ['-S', '--sasl-pwdb', bad] });
  t.equal(malformed.code, 78);
  t.match(malformed.log, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not "user:password"`), 'names the file and the line');
  t.notMatch(malformed.log, /\n\s+at /, 'no stack trace');
});

t.test('listening beyond loopback without -S is warned about at start', async (t) => {
  const open = await startServer({ args: ['-l', '0.0.0.0'] });
  t.teardown(() => open.stop('SIGKILL'));
  t.match(open.log(), /listening on 0\.0\.0\.0 without -S: anyone who can reach the port/, 'warned');
  const local = await startServer();
  t.teardown(() => local.stop('SIGKILL'));
  t.notMatch(local.log(), /without -S/, 'not on loopback');
});
