/**
 * `lmcached passwd USER`: salted entries (SCRAM keys, no password) in the users file of -S and
 * -Y. The entry is written in place or printed; the server authenticates PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512 (our client and pylibmc's Cyrus SASL) and -Y against it; a damaged entry stops
 * the start naming its line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ScramClient } from '../../lib/client/scram-client.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { CLI, removeDataDir, runToExit, startServer, tempDataDir, type ServerHandle } from '../fixtures/server.js';

/** Runs `lmcached passwd` with `input` on stdin (not a terminal). */
function passwd(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, 'passwd', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

function workDir(t: Test): string {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  return dir;
}

async function serve(t: Test, args: string[]): Promise<ServerHandle> {
  const s = await startServer({ args });
  t.teardown(async () => {
    await s.stop('SIGKILL');
    removeDataDir(s.dataDir);
  });
  return s;
}

async function scram(c: RawClient, hash: 'sha256' | 'sha512', user: string, password: string): Promise<{ status: number; iterations: number; verified: boolean }> {
  const mech = hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
  const client = new ScramClient(hash, user, password);
  const first = await c.call({ opcode: 0x21, key: mech, value: client.first() });
  if (first.status !== 0x21) return { status: first.status, iterations: 0, verified: false };
  const serverFirst = first.value.toString();
  const last = await c.call({ opcode: 0x22, key: mech, value: client.final(serverFirst) });
  return { status: last.status, iterations: Number(/i=(\d+)/.exec(serverFirst)?.[1]), verified: last.status === 0 && client.verify(last.value.toString()) };
}

t.test('writes a new file (mode 0600), replaces a line in place, or prints the entry', async (t) => {
  const dir = workDir(t);
  const file = join(dir, 'users');
  const made = await passwd(['--file', file, 'bob'], 'bob-pass\n');
  t.equal(made.code, 0, made.stderr);
  t.match(readFileSync(file, 'utf8'), /^bob:\$scram\$4096\$[^$]+\$[^$]+\$[^$]+\$[^$]+\$[^$]+\$[^$]+\n$/, 'one salted line');
  t.equal(statSync(file).mode & 0o777, 0o600, 'a new file is readable by its owner only');
  t.notMatch(readFileSync(file, 'utf8'), /bob-pass/, 'the password is not in the file');

  writeFileSync(file, 'alice:clear\nbob:old\ncarol:c\n');
  chmodSync(file, 0o640);
  t.equal((await passwd(['--file', file, 'bob'], 'new-pass\n')).code, 0);
  const lines = readFileSync(file, 'utf8').split('\n');
  t.same([lines[0], lines[1].slice(0, 11), lines[2], lines[3]], ['alice:clear', 'bob:$scram$', 'carol:c', ''], 'bob replaced where he was, the others untouched');
  t.equal(statSync(file).mode & 0o777, 0o640, 'an existing file keeps its mode');
  t.equal((await passwd(['--file', file, 'dave'], 'd\n')).code, 0);
  t.match(readFileSync(file, 'utf8'), /carol:c\ndave:\$scram\$/, 'a new user is added at the end');

  const printed = await passwd(['--iterations', '10000', 'erin'], 'e\n');
  t.match(printed.stdout, /^erin:\$scram\$10000\$/, 'without --file the entry is printed');
});

t.test('refuses what it cannot write', async (t) => {
  for (const [args, input, why] of [
    [['a:b'], 'x\n', /cannot be empty or hold ":"/],
    [[], 'x\n', /which user/],
    [['bob'], '\n', /empty password/],
    [['bob'], '', /no password on stdin/],
    [['--iterations', '100', 'bob'], 'x\n', /--iterations must be/],
    [['--bogus', 'bob'], 'x\n', /unknown option/],
  ] as const) {
    const r = await passwd([...args], input);
    t.equal(r.code, 1, `${JSON.stringify(args)}: exit 1`);
    t.match(r.stderr, why);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const help = await passwd(['--help'], '');
  t.match(help.stdout, /Usage: lmcached passwd/);
});

t.test('the server authenticates every mechanism against salted entries', async (t) => {
  const dir = workDir(t);
  const file = join(dir, 'users');
  writeFileSync(file, 'plainuser:plain-pass\n');
  t.equal((await passwd(['--file', file, 'salted'], 's4lted\n')).code, 0);
  t.equal((await passwd(['--file', file, '--iterations', '8192', 'slow'], 'sl0w\n')).code, 0);
  const s = await serve(t, ['-S', '--sasl-pwdb', file]);
  const c = await RawClient.connect(s.port);
  t.teardown(() => c.end());
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0salted\0wrong' })).status, 0x20, 'PLAIN, wrong password');
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0nobody\0s4lted' })).status, 0x20, 'PLAIN, unknown user');
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0salted\0s4lted' })).status, St.SUCCESS, 'PLAIN against a salted entry');
  t.equal((await c.call({ opcode: 0x21, key: 'PLAIN', value: '\0plainuser\0plain-pass' })).status, St.SUCCESS, 'a clear entry beside it still works');
  for (const hash of ['sha256', 'sha512'] as const) {
    t.same(await scram(c, hash, 'salted', 's4lted'), { status: 0, iterations: 4096, verified: true }, `SCRAM-${hash}: passes, and the server proves it holds the keys`);
    t.equal((await scram(c, hash, 'salted', 'wrong')).status, 0x20, `SCRAM-${hash}: a wrong password fails`);
    t.same(await scram(c, hash, 'slow', 'sl0w'), { status: 0, iterations: 8192, verified: true }, `SCRAM-${hash}: the entry's own iteration count`);
  }
  t.equal((await c.call({ opcode: Op.SET, key: 'k', extras: setExtras(0, 0), value: 'v' })).status, St.SUCCESS);

  const script = `
import sys, pylibmc
mc = pylibmc.Client(["127.0.0.1:%d" % int(sys.argv[1])], binary=True, username="salted", password=sys.argv[2])
try:
    ok = mc.set("py", "v") is True
except pylibmc.Error:
    ok = False
print("stored" if ok else "refused")
`;
  const good = spawnSync('/usr/bin/python3', ['-c', script, String(s.port), 's4lted'], { encoding: 'utf8' });
  t.equal(good.stdout.trim(), 'stored', `pylibmc (Cyrus SASL SCRAM-SHA-512) against a salted entry: ${good.stderr}`);
  const bad = spawnSync('/usr/bin/python3', ['-c', script, String(s.port), 'nope'], { encoding: 'utf8' });
  t.equal(bad.stdout.trim(), 'refused', 'and with a wrong password it is refused');
});

t.test('-Y accepts salted entries', async (t) => {
  const dir = workDir(t);
  const file = join(dir, 'users');
  t.equal((await passwd(['--file', file, 'texter'], 't3xt\n')).code, 0);
  const s = await serve(t, ['-Y', file]);
  const reply = async (block: string): Promise<string> => {
    const net = await import('node:net');
    return new Promise((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1', () => sock.write(`set a 0 0 ${block.length}\r\n${block}\r\n`));
      sock.on('data', (d: Buffer) => {
        sock.destroy();
        resolve(d.toString());
      });
    });
  };
  t.equal(await reply('texter t3xt'), 'STORED\r\n');
  t.equal(await reply('texter wrong'), 'CLIENT_ERROR authentication failure\r\n');
});

t.test('a damaged salted entry stops the start, naming the line', async (t) => {
  const dir = workDir(t);
  const file = join(dir, 'users');
  const good = (await passwd(['bob'], 'b\n')).stdout.trim();
  writeFileSync(file, `alice:a\n${good.replace(/\$[^$]+$/, '$short')}\n`);
  const r = await runToExit({ dataDir: join(dir, 'data'), args: ['-S', '--sasl-pwdb', file] });
  t.equal(r.code, 78);
  t.match(r.log, /users:2: a malformed \$scram\$ entry/);
});
