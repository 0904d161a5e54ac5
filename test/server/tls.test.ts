/**
 * memcached's -Z: TLS on the listening port for both protocols, with memcached's -o ssl_*
 * options, against certificates made at test time. Binary and text over node:tls, a plain
 * client refused without harm to others, client certificates under each ssl_verify_mode, the
 * oldest version accepted, bad files at start, certificate reload (refresh_certs, SIGHUP),
 * half-close and large values through the TLS read path, SASL over TLS, and Debian's
 * python3-pymemcache with an SSL context.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { makeCerts, type TestCerts } from '../fixtures/certs.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { removeDataDir, runToExit, startServer, tempDataDir, type ServerHandle } from '../fixtures/server.js';
import { until as waitFor } from '../fixtures/wait.js';

const certs: TestCerts = makeCerts();
t.teardown(() => certs.remove());

function tlsArgs(extra = ''): string[] {
  return ['-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.serverKey}${extra}`];
}

async function tlsServer(t: Test, args: string[] = tlsArgs()): Promise<ServerHandle> {
  const server = await startServer({ args });
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  return server;
}

async function tlsClient(t: Test, port: number, options: tls.ConnectionOptions = {}): Promise<RawClient> {
  const c = await RawClient.connectTls(port, { ca: [await readText(certs.ca)], ...options });
  t.teardown(() => c.end());
  return c;
}

async function readText(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(path, 'utf8');
}

/** Whether the server turned the connection away: the handshake failed, or (TLS 1.3 checks the
 * client's certificate after the client thinks it is done) it closed without answering. */
async function refused(port: number, options: tls.ConnectionOptions): Promise<boolean> {
  let c: RawClient;
  try {
    c = await RawClient.connectTls(port, options);
  } catch {
    return true;
  }
  c.send({ opcode: Op.VERSION });
  const before = await c.untilClosed();
  return before.length === 0;
}

/** A text exchange over TLS: sends `text`, returns all received until `until` matches. */
function tlsText(port: number, text: string, until: RegExp, options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ...options }, () => s.write(text));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (until.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

t.test('binary protocol over TLS, and the stats memcached gives for it', async (t) => {
  const server = await tlsServer(t);
  const ca = await readText(certs.ca);
  const c = await tlsClient(t, server.port, { ca });
  t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(7, 0), value: 'over tls' })).status, St.SUCCESS, 'SET');
  const got = await c.call({ opcode: Op.GET, key: 'k' });
  t.same([got.status, got.value.toString()], [St.SUCCESS, 'over tls'], 'GET');
  const stats = await c.stats();
  t.equal(stats.get('ssl_handshake_errors'), '0', 'ssl_handshake_errors');
  t.ok(Number(stats.get('time_since_server_cert_refresh')) >= 0, 'time_since_server_cert_refresh');
  const settings = await c.stats('settings');
  t.same(
    ['ssl_enabled', 'ssl_chain_cert', 'ssl_key', 'ssl_verify_mode', 'ssl_ca_cert', 'ssl_ciphers', 'ssl_min_version'].map((k) => settings.get(k)),
    ['yes', certs.serverCert, certs.serverKey, '0', 'NULL', 'NULL', 'tlsv1.2'],
    'stats settings, in memcached names and words',
  );
  const socket = c.socket as tls.TLSSocket;
  t.equal(socket.getPeerCertificate().subject.CN, 'lmcached-test-server', 'the certificate served is ssl_chain_cert');
});

t.test('text protocol on the same TLS port', async (t) => {
  const server = await tlsServer(t);
  const ca = await readText(certs.ca);
  const out = await tlsText(server.port, 'set t 0 0 3\r\nabc\r\nget t\r\nversion\r\n', /VERSION .*\r\n/, { ca });
  t.match(out, /^STORED\r\nVALUE t 0 3\r\nabc\r\nEND\r\nVERSION \S+\r\n$/, 'set, get and version answered over TLS');
});

t.test('a plain-TCP client on the TLS port is dropped; TLS clients go on', async (t) => {
  const server = await tlsServer(t);
  const c = await tlsClient(t, server.port);
  t.equal((await c.call({ opcode: Op.SET, key: 'kept', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS);
  for (const bytes of [Buffer.from('get kept\r\n'), Buffer.from([0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]) {
    const plain = await RawClient.connect(server.port);
    plain.send(bytes);
    t.same(await plain.untilClosed(), [], `plain ${bytes[0] === 0x80 ? 'binary' : 'text'} request: closed, unanswered`);
  }
  await waitFor(async () => (await c.stats()).get('ssl_handshake_errors') === '2', 'both counted as handshake errors');
  const got = await c.call({ opcode: Op.GET, key: 'kept' });
  t.same([got.status, got.value.toString()], [St.SUCCESS, 'v'], 'the TLS connection was not disturbed, and nothing was lost');
});

t.test('a client that does not trust the server, or checks another name, gets no connection', async (t) => {
  const server = await tlsServer(t);
  t.ok(await refused(server.port, { ca: await readText(certs.otherCa) }), 'another CA: the client refuses the server');
  t.ok(await refused(server.port, { ca: await readText(certs.ca), servername: 'not-this-server.example' }), 'a name the certificate does not hold');
});

t.test('ssl_verify_mode 2 requires a client certificate from ssl_ca_cert', async (t) => {
  const server = await tlsServer(t, tlsArgs(`,ssl_ca_cert=${certs.ca},ssl_verify_mode=2`));
  const ca = await readText(certs.ca);
  t.ok(await refused(server.port, { ca }), 'no client certificate: refused');
  t.ok(await refused(server.port, { ca, cert: await readText(certs.otherClientCert), key: await readText(certs.otherClientKey) }), 'a certificate from another CA: refused');
  const c = await tlsClient(t, server.port, { ca, cert: await readText(certs.clientCert), key: await readText(certs.clientKey) });
  t.equal((await c.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'a certificate from ssl_ca_cert: served');
  t.equal((await c.stats('settings')).get('ssl_verify_mode'), '2');
  t.ok(Number((await c.stats()).get('ssl_handshake_errors')) >= 2, 'the refusals are counted');
});

t.test('ssl_verify_mode 1 checks a certificate when one is sent, and lets clients without one in', async (t) => {
  const server = await tlsServer(t, tlsArgs(`,ssl_ca_cert=${certs.ca},ssl_verify_mode=1`));
  const ca = await readText(certs.ca);
  const without = await tlsClient(t, server.port, { ca });
  t.equal((await without.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'no certificate: served');
  const good = await tlsClient(t, server.port, { ca, cert: await readText(certs.clientCert), key: await readText(certs.clientKey) });
  t.equal((await good.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'a trusted certificate: served');
  t.ok(await refused(server.port, { ca, cert: await readText(certs.otherClientCert), key: await readText(certs.otherClientKey) }), 'an untrusted certificate: refused');
});

t.test('ssl_min_version turns away older clients', async (t) => {
  const server = await tlsServer(t, tlsArgs(',ssl_min_version=tlsv1.3'));
  const ca = await readText(certs.ca);
  t.ok(await refused(server.port, { ca, maxVersion: 'TLSv1.2' }), 'a TLS 1.2 client: refused');
  const c = await tlsClient(t, server.port, { ca });
  t.equal((c.socket as tls.TLSSocket).getProtocol(), 'TLSv1.3', 'a TLS 1.3 client: served');
});

t.test('ssl_chain_cert may hold the key too; ciphers pass through', async (t) => {
  const server = await tlsServer(t, ['-Z', '-o', `ssl_chain_cert=${certs.serverCombined},ssl_ciphers=ECDHE-RSA-AES128-GCM-SHA256`]);
  const ca = await readText(certs.ca);
  const c = await tlsClient(t, server.port, { ca, maxVersion: 'TLSv1.2' });
  t.equal((c.socket as tls.TLSSocket).getCipher().standardName, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'the one cipher allowed');
  t.equal((await c.call({ opcode: Op.NOOP })).status, St.SUCCESS);
});

t.test('bad TLS settings stop the start with one line naming the cause', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const noCert = await runToExit({ dataDir, args: ['-Z'] });
  t.equal(noCert.code, 64, '-Z without ssl_chain_cert: a usage error');
  t.match(noCert.log, /-Z needs -o ssl_chain_cert/);
  const missing = await runToExit({ dataDir, args: ['-Z', '-o', `ssl_chain_cert=${join(certs.dir, 'absent.crt')},ssl_key=${certs.serverKey}`] });
  t.equal(missing.code, 78, 'a missing certificate: exit 78 (EX_CONFIG)');
  t.match(missing.log, /absent\.crt: cannot read the certificate chain/);
  const mismatch = await runToExit({ dataDir, args: ['-Z', '-o', `ssl_chain_cert=${certs.serverCert},ssl_key=${certs.clientKey}`] });
  t.equal(mismatch.code, 78, 'a key that is not the certificate\'s: exit 78');
  t.match(mismatch.log, /cannot use the certificate and key/);
  for (const opt of ['ssl_verify_mode=4', 'ssl_min_version=sslv3', 'ssl_frobnicate=1']) {
    const bad = await runToExit({ dataDir, args: ['-Z', '-o', `ssl_chain_cert=${certs.serverCert},${opt}`] });
    t.equal(bad.code, 64, `-o ${opt}: a usage error`);
  }
  t.notMatch(missing.log + mismatch.log, /\n\s+at /, 'no stack trace');
});

t.test('refresh_certs and SIGHUP load a new certificate; a bad one keeps the old', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const cert = join(dir, 'live.crt');
  const key = join(dir, 'live.key');
  copyFileSync(certs.serverCert, cert);
  copyFileSync(certs.serverKey, key);
  const server = await tlsServer(t, ['-Z', '-o', `ssl_chain_cert=${cert},ssl_key=${key}`]);
  const ca = await readText(certs.ca);
  const served = async (): Promise<string> => {
    const c = await RawClient.connectTls(server.port, { ca });
    const cn = String((c.socket as tls.TLSSocket).getPeerCertificate().subject.CN);
    c.end();
    return cn;
  };
  t.equal(await served(), 'lmcached-test-server');
  const first = await tlsClient(t, server.port, { ca });
  copyFileSync(certs.server2Cert, cert);
  copyFileSync(certs.server2Key, key);
  t.match(await tlsText(server.port, 'refresh_certs\r\n', /\r\n/, { ca }), /^OK\r\n$/, 'refresh_certs: OK');
  t.equal(await served(), 'lmcached-test-server-2', 'new connections get the new certificate');
  t.equal((await first.call({ opcode: Op.NOOP })).status, St.SUCCESS, 'an open connection keeps going');

  writeFileSync(cert, 'not a certificate\n');
  t.match(await tlsText(server.port, 'refresh_certs\r\n', /\r\n/, { ca }), /^Error .+\r\n$/, 'a bad file: refresh_certs answers an error');
  t.equal(await served(), 'lmcached-test-server-2', 'and the loaded certificate stays');

  copyFileSync(certs.serverCert, cert);
  copyFileSync(certs.serverKey, key);
  server.proc.kill('SIGHUP');
  await waitFor(async () => (await served()) === 'lmcached-test-server', 'SIGHUP reloads the certificate');
});

t.test('refresh_certs without -Z answers memcached\'s error', async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop('SIGKILL'));
  const out = await new Promise<string>((resolve) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.write('refresh_certs\r\nversion\r\n'));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('VERSION')) {
        s.destroy();
        resolve(got);
      }
    });
  });
  t.match(out, /^Error TLS not enabled\r\nVERSION /);
});

t.test('the TLS read path: pipelined requests split anywhere, a half-close, and 1 MB values', async (t) => {
  const server = await tlsServer(t, [...tlsArgs(), '-I', '2m']);
  const c = await tlsClient(t, server.port);
  const big = Buffer.alloc(1024 * 1024, 0x61);
  big.write('the start');
  const replies = await c.pipeline(
    ...Array.from({ length: 50 }, (_, i) => ({ opcode: Op.SETQ, key: `p${i}`, extras: setExtras(0, 0), value: `v${i}` })),
    { opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: big },
  );
  t.same(replies.map((r) => r.status), [St.SUCCESS, St.SUCCESS], 'quiet sets silent, the big SET and the NOOP answered');
  const got = await c.call({ opcode: Op.GET, key: 'big' });
  t.ok(got.value.equals(big), 'the 1 MB value comes back whole');
  // Half-close: what was sent before the end is answered, then the server closes.
  const last = await RawClient.connectTls(server.port, { ca: await readText(certs.ca) });
  last.send({ opcode: Op.GET, key: 'p49' }, { opcode: Op.GET, key: 'p0' });
  last.socket.end();
  const answered = await last.untilClosed();
  t.same(answered.map((r) => r.value.toString()), ['v49', 'v0'], 'both answered before the close');
});

t.test('SASL over TLS', async (t) => {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const pwdb = join(dir, 'users');
  writeFileSync(pwdb, 'alice:s3cret\n');
  const server = await tlsServer(t, [...tlsArgs(), '-S', '--sasl-pwdb', pwdb]);
  const c = await tlsClient(t, server.port);
  t.equal((await c.call({ opcode: Op.GET, key: 'k' })).status, 0x20, 'unauthenticated: AUTH_ERROR');
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0alice\0wrong' })).status, 0x20, 'wrong password');
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0alice\0s3cret' })).status, St.SUCCESS, 'PLAIN inside TLS');
  t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS);
});

t.test('python3-pymemcache with an SSL context', async (t) => {
  const py = spawnSync('/usr/bin/python3', ['-c', 'import pymemcache'], { encoding: 'utf8' });
  if (py.status !== 0) {
    t.fail(`Debian's python3-pymemcache is needed (.ci/run installs it): ${py.stderr}`);
    return;
  }
  const server = await tlsServer(t);
  const script = `
import ssl, sys
from pymemcache.client.base import Client
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = Client(('127.0.0.1', int(sys.argv[1])), tls_context=ctx, default_noreply=False)
assert c.set('py-key', b'py-value') is True
assert c.get('py-key') == b'py-value', c.get('py-key')
assert c.add('py-key', b'x') is False
assert c.incr('py-n', 1) is None
c.set('py-n', b'41')
assert c.incr('py-n', 1) == 42
assert c.get_many(['py-key', 'py-n', 'absent']) == {'py-key': b'py-value', 'py-n': b'42'}
assert c.delete('py-key') is True
assert c.get('py-key') is None
print('ok')
`;
  const run = spawnSync('/usr/bin/python3', ['-c', script, String(server.port), certs.ca], { encoding: 'utf8' });
  t.equal(run.stdout.trim(), 'ok', `pymemcache over TLS: ${run.stderr}`);
  const untrusted = spawnSync('/usr/bin/python3', ['-c', script, String(server.port), certs.otherCa], { encoding: 'utf8' });
  t.not(untrusted.status, 0, 'pymemcache trusting another CA does not connect');
  t.match(untrusted.stderr, /CERTIFICATE_VERIFY_FAILED/);
});
