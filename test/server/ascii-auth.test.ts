/**
 * memcached's -Y (ASCII authentication): the first command is a `set` whose data is
 * `user password`. Each expected reply below was checked against Debian's memcached 1.6.18
 * started with -Y on the same file: every other line answers `CLIENT_ERROR unauthenticated`
 * and the connection stays open; a bad block is `bad command line termination` or `bad
 * authentication token format`; a wrong password or unknown user is `authentication failure`;
 * noreply is ignored; nothing is stored by the authenticating `set`.
 */
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St } from '../fixtures/frames.js';
import { removeDataDir, startServer, tempFile, type ServerHandle } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

/** A text connection that reads replies line by line. */
class TextClient {
  private got = '';
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.got += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number): Promise<TextClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new TextClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Sends `text` and returns the next `lines` reply lines. */
  async send(text: string | Buffer, lines = 1): Promise<string[]> {
    this.socket.write(text);
    const out: string[] = [];
    while (out.length < lines) {
      const at = this.got.indexOf('\r\n');
      if (at >= 0) {
        out.push(this.got.slice(0, at));
        this.got = this.got.slice(at + 2);
        continue;
      }
      if (this.closed) throw new Error(`closed after ${out.length} of ${lines} lines`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return out;
  }

  end(): void {
    this.socket.destroy();
  }
}

async function server(t: Test, args: string[]): Promise<ServerHandle> {
  const s = await startServer({ args });
  t.teardown(async () => {
    await s.stop('SIGKILL');
    removeDataDir(s.dataDir);
  });
  return s;
}

async function text(t: Test, port: number): Promise<TextClient> {
  const c = await TextClient.connect(port);
  t.teardown(() => c.end());
  return c;
}

const auth = (user: string, password: string, extra = ''): string => {
  const block = `${user} ${password}`;
  return `set auth 0 0 ${Buffer.byteLength(block)}${extra}\r\n${block}\r\n`;
};

t.test('before authenticating, every command but the set answers unauthenticated', async (t) => {
  const s = await server(t, ['-Y', tempFile(t, 'alice:secret\n')]);
  const c = await text(t, s.port);
  for (const line of ['get foo', 'version', 'stats', 'delete foo', 'incr n 1', 'flush_all', 'mn', 'quit', 'add k 0 0 1', 'setx k 0 0 1', 'set k 0 0', 'set k 0 0 -1', 'set k 0 0 x', '', 'GET / HTTP/1.1', '\u0001\u0002garbage']) {
    t.same(await c.send(`${line}\r\n`), ['CLIENT_ERROR unauthenticated'], JSON.stringify(line));
  }
  t.notOk(c.closed, 'the connection stays open, as memcached keeps it');
  const b = await RawClient.connect(s.port);
  t.teardown(() => b.end());
  t.equal((await b.call({ opcode: Op.GET, key: 'k' })).status, 0x20, 'a binary connection with -Y alone: AUTH_ERROR (SASL with the -Y users)');
});

t.test('malformed and wrong tokens, then success', async (t) => {
  const s = await server(t, ['-Y', tempFile(t, 'alice:secret\nbob:pw2\n')]);
  const c = await text(t, s.port);
  t.same(await c.send('set x 0 0 5\r\nalice\r\n'), ['CLIENT_ERROR bad authentication token format'], 'one token');
  t.same(await c.send('set x 0 0 0\r\n\r\n'), ['CLIENT_ERROR bad authentication token format'], 'empty');
  t.same(await c.send('set x 0 0 3\r\n  a\r\n'), ['CLIENT_ERROR bad authentication token format'], 'spaces and one token');
  t.same(await c.send('set x 0 0 12\r\nalice secretXX\r\n', 2), ['CLIENT_ERROR bad command line termination', 'CLIENT_ERROR unauthenticated'], 'a block longer than announced: its tail is read as a line');
  t.same(await c.send(auth('alice', 'wrong')), ['CLIENT_ERROR authentication failure'], 'wrong password');
  t.same(await c.send(auth('mallory', 'secret')), ['CLIENT_ERROR authentication failure'], 'unknown user');
  t.same(await c.send(auth('alice', 'secret\r\n')), ['CLIENT_ERROR authentication failure'], 'a password with a line break is not the password');
  t.same(await c.send(auth('bob', 'secret')), ['CLIENT_ERROR authentication failure'], 'another user\'s password');
  t.same(await c.send('set x 0 0 100000\r\n' + 'a'.repeat(100000) + '\r\nget k\r\n', 2), ['CLIENT_ERROR bad authentication token format', 'CLIENT_ERROR unauthenticated'], 'a huge token is skipped, not buffered, and the stream stays framed');
  t.same(await c.send('get k\r\n'), ['CLIENT_ERROR unauthenticated'], 'still not authenticated');
  t.same(await c.send(auth('alice', 'secret', ' noreply')), ['STORED'], 'the right password: STORED (noreply ignored, as memcached)');
  t.same(await c.send('get auth\r\n'), ['END'], 'the authenticating set stored nothing');
  t.same(await c.send('set k 0 0 1\r\nv\r\nget k\r\n', 4), ['STORED', 'VALUE k 0 1', 'v', 'END'], 'commands run once authenticated');
  t.same(await c.send(auth('alice', 'secret')), ['STORED'], 'a second such set is a plain set now');
  t.same(await c.send('get auth\r\n', 3), ['VALUE auth 0 12', 'alice secret', 'END']);
});

t.test('memcached\'s tokenizer: extra spaces and tokens around user and password', async (t) => {
  const s = await server(t, ['-Y', tempFile(t, 'alice:secret\n')]);
  for (const block of ['alice secret ', 'alice  secret', 'alice secret extra']) {
    const c = await text(t, s.port);
    t.same(await c.send(`set x 0 0 ${block.length}\r\n${block}\r\n`), ['STORED'], JSON.stringify(block));
  }
});

t.test('counters, a second connection, and stats settings', async (t) => {
  const s = await server(t, ['-Y', tempFile(t, 'alice:secret\n')]);
  const c = await text(t, s.port);
  await c.send(auth('alice', 'nope'));
  await c.send(auth('alice', 'secret'));
  const other = await text(t, s.port);
  t.same(await other.send('get k\r\n'), ['CLIENT_ERROR unauthenticated'], 'another connection is not authenticated by the first');
  const b = await RawClient.connect(s.port);
  t.teardown(() => b.end());
  t.equal((await b.call({ opcode: 0x21, key: 'PLAIN', value: '\0alice\0secret' })).status, St.SUCCESS, 'SASL with the -Y users');
  const general = await b.stats();
  t.same([general.get('auth_cmds'), general.get('auth_errors')], ['3', '1'], 'auth_cmds and auth_errors count both protocols');
  const settings = await b.stats('settings');
  t.match(settings.get('auth_enabled_ascii'), /users$/, 'auth_enabled_ascii names the file, as memcached');
  t.equal(settings.get('auth_enabled_sasl'), 'yes');
  t.match(s.log(), /ascii auth: .* failed to authenticate as "alice"/, 'a failure is logged with the user');
  t.notMatch(s.log(), /nope/, 'never the password');
});

t.test('-S and -Y together: each protocol its own users', async (t) => {
  const ascii = tempFile(t, 'texter:tpass\n');
  const sasl = tempFile(t, 'binary:bpass\n');
  const s = await server(t, ['-S', '--sasl-pwdb', sasl, '-Y', ascii]);
  const c = await text(t, s.port);
  t.same(await c.send(auth('binary', 'bpass')), ['CLIENT_ERROR authentication failure'], 'the SASL user is not a text user');
  t.same(await c.send(auth('texter', 'tpass')), ['STORED']);
  const b = await RawClient.connect(s.port);
  t.teardown(() => b.end());
  t.equal((await b.call({ opcode: 0x21, key: 'PLAIN', value: '\0texter\0tpass' })).status, 0x20, 'the text user is not a SASL user');
  t.equal((await b.call({ opcode: 0x21, key: 'PLAIN', value: '\0binary\0bpass' })).status, St.SUCCESS);
});

t.test('SIGHUP re-reads the -Y file; a bad file keeps the users', async (t) => {
  const path = tempFile(t, 'alice:one\n');
  const s = await server(t, ['-Y', path]);
  writeFileSync(path, 'alice:two\n');
  s.proc.kill('SIGHUP');
  await until(() => /ascii auth: reloaded 1 users/.test(s.log()), 'the reload');
  t.same(await (await text(t, s.port)).send(auth('alice', 'two')), ['STORED'], 'the new password');
  t.same(await (await text(t, s.port)).send(auth('alice', 'one')), ['CLIENT_ERROR authentication failure'], 'not the old');
  writeFileSync(path, 'no colon\n');
  s.proc.kill('SIGHUP');
  await until(() => /ascii auth: .*:1: not "user:password"; keeping the users loaded before/.test(s.log()), 'the refused reload');
  t.same(await (await text(t, s.port)).send(auth('alice', 'two')), ['STORED'], 'the users loaded before stay');
});
