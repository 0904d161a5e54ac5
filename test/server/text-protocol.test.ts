/**
 * memcached's classic text protocol, byte for byte as memcached 1.6.18 answers it. Each case's
 * expected reply is written here and checked twice: against lmcached, and against Debian's
 * memcached started by the test (so an expectation that is not memcached's fails too). Cases
 * run in order on both servers, each on a fresh connection, with keys of their own.
 */
import t from 'tap';
import net from 'node:net';
import { exchange, expectMemcachedReplies, memcachedAvailable, startMemcached, type ReplyCase } from '../fixtures/memcached.js';
import { removeDataDir, startServer } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';

const long = 'x'.repeat(251);

/** [what, input, memcached's reply ("<closed>": it closed the connection)]. */
const CASES: ReplyCase[] = [
  ['cas with unique 0 of a missing key', 'cas c1 0 0 1 0\r\na\r\n', 'NOT_FOUND\r\n'],
  ['cas with unique 0 of a present key: EXISTS', 'set c2 0 0 1\r\na\r\ncas c2 0 0 1 0\r\nb\r\nget c2\r\n', 'STORED\r\nEXISTS\r\nVALUE c2 0 1\r\na\r\nEND\r\n'],
  ['a key to get', 'set g1 0 0 1\r\na\r\n', 'STORED\r\n'],
  // (Sent apart: memcached drops replies still unsent when a get fails, a race not copied.)
  ['a 251-byte key in a get fails the whole get', `get g1 ${long} g1\r\n`, 'CLIENT_ERROR bad command line format\r\n'],
  ['an HTTP request line closes the connection', 'GET / HTTP/1.1\r\n', '<closed>'],
  ['a negative length', 'set s1 0 0 -1\r\n', 'CLIENT_ERROR bad command line format\r\n'],
  ['a length that is not a number', 'set s2 0 0 abc\r\n', 'CLIENT_ERROR bad command line format\r\n'],
  ['bad flags: the data line is then read as a command', 'set s3 abc 0 1\r\na\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n'],
  ['negative flags', 'set s4 -1 0 1\r\na\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n'],
  ['flags past 32 bits keep their low 32 bits', 'set s5 4294967297 0 1\r\na\r\nget s5\r\n', 'STORED\r\nVALUE s5 1 1\r\na\r\nEND\r\n'],
  ['a plus sign is a number', 'set s6 +7 0 1\r\na\r\nget s6\r\n', 'STORED\r\nVALUE s6 7 1\r\na\r\nEND\r\n'],
  ['a negative expiry expires at once', 'set s7 0 -1 1\r\na\r\nget s7\r\n', 'STORED\r\nEND\r\n'],
  ['too many tokens', 'set s8 0 0 1 noreply extra\r\na\r\n', 'ERROR\r\nERROR\r\n'],
  ['a data block longer than announced', 'set s9 0 0 2\r\nabc\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n'],
  ['noreply silences replies and errors', 'set s10 0 0 1 noreply\r\na\r\nget s10\r\nset s10 abc 0 1 noreply\r\nincr s10 x noreply\r\n', 'VALUE s10 0 1\r\na\r\nEND\r\n'],
  ['add, replace, append, prepend', 'add s11 0 0 1\r\na\r\nadd s11 0 0 1\r\nb\r\nreplace nos11 0 0 1\r\nc\r\nappend nos11 0 0 1\r\nd\r\nprepend s11 0 0 1\r\ne\r\nappend s11 0 0 1\r\nf\r\nget s11\r\n', 'STORED\r\nNOT_STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nVALUE s11 0 3\r\neaf\r\nEND\r\n'],
  ['a key of 251 bytes in a set', `set ${long} 0 0 1\r\na\r\n`, 'CLIENT_ERROR bad command line format\r\nERROR\r\n'],
  ['gat and its errors', 'set t1 0 0 1\r\na\r\ngat 100 t1\r\ngat\r\ngat x t1\r\ngat 100\r\n', 'STORED\r\nVALUE t1 0 1\r\na\r\nEND\r\nERROR\r\nCLIENT_ERROR invalid exptime argument\r\nEND\r\n'],
  ['gat with a past expiry returns the item and expires it', 'set t2 0 0 1\r\na\r\ngat -1 t2\r\nget t2\r\n', 'STORED\r\nVALUE t2 0 1\r\na\r\nEND\r\nEND\r\n'],
  ['incr and decr', 'incr n1 1\r\nset n1 0 0 1\r\na\r\nincr n1 1\r\nset n2 0 0 2\r\n10\r\nincr n2 18446744073709551615\r\ndecr n2 100\r\nincr n2 -1\r\nincr n2 abc\r\nincr n2\r\n', 'NOT_FOUND\r\nSTORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n9\r\n0\r\nCLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\nERROR\r\n'],
  ['touch', 'set u1 0 0 1\r\na\r\ntouch u1 10\r\ntouch nou1 10\r\ntouch u1 abc\r\ntouch u1\r\n', 'STORED\r\nTOUCHED\r\nNOT_FOUND\r\nCLIENT_ERROR invalid exptime argument\r\nERROR\r\n'],
  ['delete and its hold-time rule', 'set d1 0 0 1\r\na\r\ndelete d1 0\r\ndelete d1 5\r\ndelete d1 noreply\r\ndelete\r\ndelete d1 0 noreply\r\ndelete d1 1 2 3\r\n', 'STORED\r\nDELETED\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nERROR\r\nERROR\r\n'],
  ['verbosity', 'verbosity\r\nverbosity 1 2 3\r\nverbosity 0\r\nverbosity x\r\nverbosity 0 noreply\r\n', 'ERROR\r\nERROR\r\nOK\r\nCLIENT_ERROR bad command line format\r\n'],
  ['flush_all arguments', 'flush_all abc\r\nflush_all 1 2 3\r\n', 'CLIENT_ERROR invalid exptime argument\r\nERROR\r\n'],
  ['cache_memlimit bounds', 'cache_memlimit\r\ncache_memlimit 4\r\ncache_memlimit 2000000000\r\ncache_memlimit x\r\ncache_memlimit 64\r\n', 'ERROR\r\nMEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\nMEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\nERROR\r\nOK\r\n'],
  ['shutdown without -A', 'shutdown\r\nshutdown now\r\n', 'ERROR: shutdown not enabled\r\nERROR: shutdown not enabled\r\n'],
  ['stats detail', 'stats detail\r\nstats detail on\r\nstats detail dump\r\nstats detail off\r\nstats detail x\r\n', 'CLIENT_ERROR usage: stats detail on|off|dump\r\nOK\r\nEND\r\nOK\r\nCLIENT_ERROR usage: stats detail on|off|dump\r\n'],
  ['stats: an unknown group, sizes, reset', 'stats nonsense\r\nstats sizes\r\nstats reset\r\n', 'ERROR\r\nSTAT sizes_status disabled\r\nEND\r\nRESET\r\n'],
  ['unknown commands and garbage', 'foo\r\n\r\nx\r\nmz\r\nsetx k 0 0 1\r\n\u0001\u0002\u0003\r\n', 'ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n'],
  ['bget, an old name of get', 'set bg 0 0 1\r\na\r\nbget bg\r\nbget\r\n', 'STORED\r\nVALUE bg 0 1\r\na\r\nEND\r\nERROR\r\n'],
  ['a line ending in a bare \\n', 'set b1 0 0 1\na\r\nget b1\n', 'STORED\r\nVALUE b1 0 1\r\na\r\nEND\r\n'],
];

t.test('classic text commands answer as memcached 1.6.18', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  await expectMemcachedReplies(t, server.port, CASES);
});

t.test('a get of 18,725 keys (a 187 KB line) returns every value', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  const keys = Array.from({ length: 18725 }, (_, i) => `multi-get-key-${i}`);
  const sets = keys.filter((_, i) => i % 3 === 0).map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`).join('');
  const stored = await exchange(server.port, sets);
  t.equal(stored.split('\r\n').filter((l) => l === 'STORED').length, Math.ceil(keys.length / 3));
  const line = `get ${keys.join(' ')}\r\n`;
  t.ok(line.length > 180_000, `${line.length} bytes on one line`);
  const got = await exchange(server.port, line);
  const values = got.split('\r\n').filter((l) => l.startsWith('VALUE '));
  t.equal(values.length, Math.ceil(keys.length / 3), 'every stored key answered');
  t.ok(got.endsWith('END\r\n'));
});

/** Sends `input` and resolves with what came back once the server closed the connection. */
function untilClosed(port: number, input: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(input));
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
  });
}

t.test('2 KiB without a line end closes the connection, unless it is a get', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  const reference = memcachedAvailable() ? await startMemcached(t) : null;
  for (const port of reference === null ? [server.port] : [reference, server.port]) {
    const who = port === reference ? 'memcached' : 'lmcached';
    t.equal(await untilClosed(port, 'x'.repeat(3000)), '', `${who}: closed without a word`);
    t.equal(await untilClosed(port, `set ${'k'.repeat(3000)}`), '', `${who}: a set line too`);
    const get = await exchange(port, `get ${'k '.repeat(2000)}`.trimEnd() + '\r\n');
    t.equal(get, 'END\r\n', `${who}: a get line of 4 KiB is read whole`);
  }
});

t.test('-A enables shutdown; cache_memlimit sets the resident table; stats groups over text', async (t) => {
  const server = await startServer({ args: ['-A', '-m', '16'] });
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  const stat = async (group: string): Promise<Map<string, string>> => {
    const got = await exchange(server.port, `stats ${group}\r\n`);
    t.ok(got.endsWith('END\r\n'), `stats ${group} ends with END`);
    return new Map(got.split('\r\n').filter((l) => l.startsWith('STAT ')).map((l) => [l.split(' ')[1], l.split(' ').slice(2).join(' ')] as const));
  };
  t.equal((await stat('settings')).get('maxbytes'), String(16 * 1024 * 1024));
  t.equal(await exchange(server.port, 'cache_memlimit 32\r\n'), 'OK\r\n');
  t.equal((await stat('settings')).get('maxbytes'), String(32 * 1024 * 1024), 'stats settings follows cache_memlimit');
  t.equal((await stat('')).get('limit_maxbytes'), String(32 * 1024 * 1024), 'and so does the resident table');
  t.equal((await stat('settings')).get('shutdown_command'), 'yes');
  const big = 'z'.repeat(1024 * 1024 + 1);
  t.equal(await exchange(server.port, `set big 0 0 ${big.length}\r\n${big}\r\nms big ${big.length}\r\n${big}\r\n`), 'SERVER_ERROR object too large for cache\r\n'.repeat(2));
  const c = await RawClient.connect(server.port);
  t.equal((await c.call({ opcode: Op.SET, key: 'big', extras: setExtras(0, 0), value: big })).status, St.E2BIG);
  c.end();
  t.equal((await stat('')).get('store_too_large'), '3', 'store_too_large counts text, meta and binary refusals');
  t.ok((await stat('items')).has('items:1:number'), 'stats items');
  t.equal((await stat('slabs')).get('active_slabs'), '1', 'stats slabs: the resident table as one class');
  t.equal(await exchange(server.port, 'shutdown now\r\n'), 'CLIENT_ERROR invalid shutdown mode\r\n');
  t.equal(await untilClosed(server.port, 'shutdown\r\n'), '', 'shutdown: the connection closes');
  await until(() => server.proc.exitCode !== null, 'the server to exit');
  t.equal(server.proc.exitCode, 0, 'and the server stops cleanly');
  t.match(server.log(), /text command: shutdown[\s\S]*shutdown complete/);
});

t.test('stats conns lists the listener and every client connection, as memcached', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  const idle = net.connect(server.port, '127.0.0.1');
  t.teardown(() => idle.destroy());
  await new Promise((r) => idle.once('connect', r));
  const got = await exchange(server.port, 'stats conns\r\n');
  const lines = got.split('\r\n').filter((l) => l.startsWith('STAT '));
  t.match(lines[0], new RegExp(`^STAT 0:addr tcp:127\\.0\\.0\\.1:${server.port}$`), 'the listener first');
  t.equal(lines[1], 'STAT 0:state conn_listening');
  const clients = lines.filter((l) => /^STAT \d+:listen_addr /.test(l));
  t.equal(clients.length, 2, 'one block per client connection (the idle one and this one)');
  t.ok(clients.every((l) => l.endsWith(`tcp:127.0.0.1:${server.port}`)), 'each names the address it came in on');
  t.ok(lines.some((l) => /^STAT \d+:addr tcp:127\.0\.0\.1:\d+$/.test(l) && !l.startsWith('STAT 0:')), 'and its peer');
  t.ok(got.endsWith('END\r\n'));
});
