/**
 * memcached's dump, tuning and logging commands of the text protocol: `stats cachedump`,
 * `lru_crawler metadump`, `slabs`, `lru`, `lru_crawler`, `watch`, and the flags that turn them
 * off (-X, -W, -o no_lru_crawler). Replies that do not depend on what a server holds are
 * checked against Debian's memcached byte for byte; dumps and log lines are compared with it
 * after their times, CAS values and sizes (memcached's own item layout) are masked.
 */
import t from 'tap';
import net from 'node:net';
import { exchange, expectMemcachedReplies, memcachedAvailable, startMemcached, type ReplyCase } from '../fixtures/memcached.js';
import { removeDataDir, startServer, type ServerHandle } from '../fixtures/server.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { until } from '../fixtures/wait.js';

const CASES: ReplyCase[] = [
  ['slabs needs a subcommand', 'slabs\r\nslabs nonsense 1\r\n', 'ERROR\r\nERROR\r\n'],
  [
    'slabs reassign: no spare pages, bad classes, bad numbers, wrong token count',
    'slabs reassign 0 1\r\nslabs reassign 1 39\r\nslabs reassign 1 1\r\nslabs reassign 100 1\r\nslabs reassign -1 1\r\nslabs reassign x 1\r\nslabs reassign 1 2 noreply\r\n',
    'NOSPARE source class has no spare pages\r\nNOSPARE source class has no spare pages\r\nSAME src and dst class are identical\r\nBADCLASS invalid src or dst class id\r\nBADCLASS invalid src or dst class id\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n',
  ],
  [
    'slabs automove levels and ratio, noreply',
    'slabs automove 1\r\nslabs automove 3\r\nslabs automove x\r\nslabs automove 0 noreply\r\nslabs automove ratio 0.5\r\nslabs automove ratio\r\nslabs automove ratio x\r\nslabs automove ratio 1e3 noreply\r\nslabs automove x noreply\r\n',
    'OK\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nOK\r\nERROR\r\nERROR\r\n',
  ],
  [
    'lru tune, mode, temp_ttl and their errors',
    'lru tune 10 25 0.1 2\r\nlru tune 50 50 0.1 2\r\nlru tune 10 25 0 2\r\nlru tune x 1 1 1\r\nlru tune 1 1 1\r\nlru tune 1 2 0.1 nan\r\nlru mode segmented\r\nlru mode x\r\nlru mode\r\nlru temp_ttl x\r\nlru temp_ttl -1\r\nlru\r\nlru x\r\nlru mode flat noreply\r\n',
    'OK\r\nERROR hot and warm pcts must not exceed 80\r\nERROR hot/warm age factors must be greater than 0\r\nERROR\r\nERROR\r\nOK\r\nOK\r\nERROR\r\nERROR\r\nERROR\r\nOK\r\nERROR\r\nERROR\r\n',
  ],
  // (Each crawl that starts is left out: memcached answers BUSY while one runs, and its
  // background crawler may run any time; those replies are checked on lmcached below.)
  [
    'lru_crawler crawl with bad classes, tocrawl, sleep and unknown subcommands',
    'lru_crawler crawl 0\r\nlru_crawler crawl 64\r\nlru_crawler crawl x\r\nlru_crawler tocrawl 10\r\nlru_crawler tocrawl x\r\nlru_crawler sleep 2000000\r\nlru_crawler sleep 20\r\nlru_crawler sleep x\r\nlru_crawler bogus\r\nlru_crawler\r\nlru_crawler crawl all extra\r\nlru_crawler metadump 1 2\r\n',
    'BADCLASS invalid class id\r\nBADCLASS invalid class id\r\nBADCLASS invalid class id\r\nOK\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR sleep must be one second or less\r\nOK\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n',
  ],
  ['lru_crawler enable while it runs', 'lru_crawler enable\r\n', 'ERROR failed to start lru crawler thread\r\n'],
  // One metadump per connection: memcached refuses one behind replies still unsent.
  ['metadump of class 0', 'lru_crawler metadump 0\r\n', 'BADCLASS invalid class id\r\n'],
  ['metadump of class 64', 'lru_crawler metadump 64\r\n', 'BADCLASS invalid class id\r\n'],
  ['metadump of class x', 'lru_crawler metadump x\r\n', 'BADCLASS invalid class id\r\n'],
  ['metadump behind an unsent reply', 'bogus\r\nlru_crawler metadump all\r\n', 'ERROR\r\nERROR cannot pipeline other commands before metadump\r\n'],
  ['watch behind an unsent reply', 'bogus\r\nwatch\r\n', 'ERROR\r\nERROR cannot pipeline other commands before watch\r\n'],
  ['watch behind a get is not refused', 'get nope\r\nwatch bogus\r\n', 'END\r\nERROR\r\n'],
  [
    'stats cachedump arguments',
    'stats cachedump 1\r\nstats cachedump x 1\r\nstats cachedump 1 x\r\nstats cachedump 64 0\r\nstats cachedump 2 0\r\nstats cachedump\r\n',
    'CLIENT_ERROR bad command line\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR Illegal slab id\r\nEND\r\nCLIENT_ERROR bad command line\r\n',
  ],
  ['watch with an unknown flag', 'watch bogus\r\n', 'ERROR\r\n'],
  ['watch with noreply (read as a flag, its ERROR silenced)', 'watch fetchers noreply\r\n', ''],
  ['watch with a good flag and a bad one', 'watch fetchers bogus\r\n', 'ERROR\r\n'],
];

const started: ServerHandle[] = [];
t.teardown(async () => {
  for (const s of started) {
    await s.stop('SIGKILL');
    removeDataDir(s.dataDir);
  }
});

async function lmcached(args: string[] = []): Promise<ServerHandle> {
  const s = await startServer({ args });
  started.push(s);
  return s;
}

/** Sends one line alone and reads to its last reply line (memcached drops what is pipelined
 * behind a metadump, so the dump is not followed by `version` as in exchange()). */
function dumpOf(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(line));
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (/(^|\n)(END|[A-Z_]*ERROR[^\r\n]*|BADCLASS[^\r\n]*)\r\n$/.test(got)) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
    setTimeout(() => reject(new Error(`no end to ${line.trim()}: ${got.slice(-200)}`)), 30_000).unref();
  });
}

/** Masks what differs by nature (times, CAS values, memcached's item sizes) and sorts the
 * item lines (memcached lists its hash table or LRU, lmcached LMDB's key order). */
function masked(dump: string): string {
  const lines = dump.split(/(?<=\n)/);
  const items = lines
    .filter((l) => l.startsWith('key=') || l.startsWith('ITEM '))
    .map((l) => l.replace(/ la=\d+/, ' la=T').replace(/ cas=\d+/, ' cas=C').replace(/ size=\d+/, ' size=S').replace(/ exp=\d{9,}/, ' exp=T').replace(/; \d{9,} s\]/, '; T s]'))
    .sort();
  return [...items, ...lines.filter((l) => !l.startsWith('key=') && !l.startsWith('ITEM '))].join('');
}

t.test('tuning commands, dump arguments and watch errors answer as memcached 1.6.18', async (t) => {
  const server = await lmcached();
  await expectMemcachedReplies(t, server.port, CASES);
});

t.test('lru_crawler crawl, disable and enable (lmcached alone: memcached answers BUSY while a crawl runs)', async (t) => {
  const server = await lmcached();
  const cases: Array<[string, string]> = [
    ['lru_crawler crawl all\r\nlru_crawler crawl 1,2\r\nlru_crawler crawl hash\r\n', 'OK\r\nOK\r\nERROR an unknown error happened\r\n'],
    ['lru_crawler disable\r\nlru_crawler disable\r\nlru_crawler crawl all\r\nstats cachedump 2 0\r\n', 'OK\r\nOK\r\nCLIENT_ERROR lru crawler disabled\r\nEND\r\n'],
    ['lru_crawler metadump all\r\n', 'CLIENT_ERROR lru crawler disabled\r\n'],
    ['lru_crawler enable\r\nlru_crawler enable\r\nlru_crawler crawl all\r\n', 'OK\r\nERROR failed to start lru crawler thread\r\nOK\r\n'],
  ];
  for (const [input, expected] of cases) t.equal(await exchange(server.port, input), expected, input.trim().split('\r\n').join('; '));
});

t.test('metadump and cachedump list what memcached lists', async (t) => {
  if (!memcachedAvailable()) return t.fail('Debian\'s memcached is needed (.ci/run installs it)');
  const server = await lmcached();
  const reference = await startMemcached(t);
  const writes = 'set plain 0 0 3\r\nabc\r\nset a%20b 5 0 1\r\nx\r\nset ttl 0 1000 2\r\nhi\r\nset gone 0 0 1\r\nx\r\ndelete gone\r\nset old 0 -1 1\r\nx\r\nget ttl\r\n';
  const wrote = 'STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nDELETED\r\nSTORED\r\nVALUE ttl 0 2\r\nhi\r\nEND\r\n';
  const expected = 'key=a%2520b exp=-1 la=T cas=C fetch=no cls=1 size=S\nkey=plain exp=-1 la=T cas=C fetch=no cls=1 size=S\nkey=ttl exp=T la=T cas=C fetch=yes cls=1 size=S\nEND\r\n';
  for (const [name, port] of [['memcached', reference], ['lmcached', server.port]] as const) {
    t.equal(await exchange(port, writes), wrote, `${name}: writes`);
    t.equal(masked(await dumpOf(port, 'lru_crawler metadump 2\r\n')), 'END\r\n', `${name}: metadump of a class with nothing`);
    // memcached's hash walk sees every item (its LRU walks and cachedump see the LRUs as its
    // maintainer has sorted them so far, so only lmcached's are compared whole below).
    t.equal(masked(await dumpOf(port, 'lru_crawler metadump hash\r\n')), expected, `${name}: metadump hash`);
    t.match(await dumpOf(port, 'stats cachedump 1 1\r\n'), /^(ITEM \S+ \[\d+ b; \d+ s\]\r\n)?END\r\n$/, `${name}: cachedump with a limit of 1`);
  }
  // Written just before (not yet committed with --ack=memory): the dumps still have them.
  t.equal(masked(await dumpOf(server.port, 'lru_crawler metadump all\r\n')), expected, 'lmcached: metadump all');
  t.equal(masked(await dumpOf(server.port, 'lru_crawler metadump 1,2\r\n')), expected, 'lmcached: metadump 1,2');
  t.equal(masked(await dumpOf(server.port, 'stats cachedump 1 0\r\n')), 'ITEM a%20b [1 b; 0 s]\r\nITEM plain [3 b; 0 s]\r\nITEM ttl [2 b; T s]\r\nEND\r\n', 'lmcached: cachedump');
  t.match(await dumpOf(server.port, 'stats cachedump 1 1\r\n'), /^ITEM \S+ \[\d+ b; \d+ s\]\r\nEND\r\n$/, 'lmcached: cachedump with a limit of 1');
});

t.test('metadump walks every vBucket in chunks, waits for a slow reader, and serves others meanwhile', async (t) => {
  const server = await lmcached();
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());
  const n = 5000;
  const value = 'v'.repeat(100);
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < i + 500; j++) batch.push({ opcode: Op.SETQ, key: `k${j}`, vbucket: j % 1024, extras: setExtras(0, 0), value });
    c.send(...batch);
  }
  const noop = await c.call({ opcode: Op.NOOP });
  t.equal(noop.status, St.SUCCESS);
  // A deleted key and an expired one are not listed.
  t.equal((await c.call({ opcode: Op.DELETE, key: 'k7', vbucket: 7 })).status, St.SUCCESS);
  t.equal((await c.call({ opcode: Op.SET, key: 'k8', vbucket: 8, extras: setExtras(0, 1), value })).status, St.SUCCESS);

  // A reader that takes its time: it reads nothing until others have been served.
  const slow = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => slow.once('connect', r));
  slow.pause();
  slow.write('lru_crawler metadump all\r\n');
  await new Promise((r) => setTimeout(r, 200));
  const other = await c.call({ opcode: Op.GET, key: 'k1', vbucket: 1 });
  t.equal(other.status, St.SUCCESS, 'another connection is served while the dump waits for its reader');
  let got = '';
  slow.on('data', (d: Buffer) => (got += d.toString('latin1')));
  slow.resume();
  await until(() => got.endsWith('END\r\n'), 'the end of the dump');
  slow.destroy();
  const keys = got.split('\n').filter((l) => l.startsWith('key=')).map((l) => l.split(' ')[0].slice(4));
  const want = new Set(Array.from({ length: n }, (_, i) => `k${i}`));
  want.delete('k7');
  want.delete('k8');
  // k8 expired after a second; it may be listed only if the dump ran inside that second.
  const listed = new Set(keys.filter((k) => k !== 'k8'));
  t.equal(listed.size, want.size, 'every live item once');
  t.same([...want].filter((k) => !listed.has(k)), [], 'none missing');
  t.notOk(keys.includes('k7'), 'the deleted item is not listed');
});

t.test('-X refuses the dumps, -W refuses watch, -o no_lru_crawler the crawler, as memcached', async (t) => {
  const server = await lmcached(['-X', '-W', '-o', 'no_lru_crawler']);
  const cases: ReplyCase[] = [
    ['-X: cachedump', 'stats cachedump 1 0\r\n', 'CLIENT_ERROR stats cachedump not allowed\r\n'],
    ['-W: watch', 'watch\r\nwatch fetchers\r\n', 'CLIENT_ERROR watch commands not allowed\r\nCLIENT_ERROR watch commands not allowed\r\n'],
    ['no_lru_crawler: crawl and metadump', 'lru_crawler crawl all\r\nlru_crawler metadump all\r\n', 'CLIENT_ERROR lru crawler disabled\r\nCLIENT_ERROR lru crawler disabled\r\n'],
    ['no_lru_crawler: enable starts it; then -X refuses metadump', 'lru_crawler enable\r\nlru_crawler metadump all\r\n', 'OK\r\nERROR metadump not allowed\r\n'],
  ];
  if (!memcachedAvailable()) return t.fail('Debian\'s memcached is needed (.ci/run installs it)');
  const reference = await startMemcached(t, ['-X', '-W', '-o', 'no_lru_crawler']);
  for (const [what, input, expected] of cases) {
    t.equal(await exchange(reference, input), expected, `memcached: ${what}`);
    t.equal(await exchange(server.port, input), expected, `lmcached: ${what}`);
  }
  const settings = await exchange(server.port, 'stats settings\r\n');
  t.match(settings, /STAT dump_enabled no\r\n/);
  t.match(settings, /STAT lru_crawler yes\r\n/, 'enabled by the command above');
});

/** A watcher: its lines as they come. */
async function watcher(port: number, flags: string): Promise<{ lines: string[]; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const w = { lines: [] as string[], socket };
  let buf = '';
  socket.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    const parts = buf.split('\n');
    buf = parts.pop() ?? '';
    w.lines.push(...parts);
  });
  socket.write(`watch ${flags}\r\n`);
  await until(() => w.lines.length > 0, 'the watch reply');
  return w;
}

const maskLog = (l: string): string => l.replace(/^ts=\d+\.\d+ gid=\d+ /, '').replace(/ cfd=\d+/, ' cfd=N').replace(/ rport=\d+/, ' rport=P');

t.test('watch: fetchers, mutations and connevents lines as memcached writes them', async (t) => {
  if (!memcachedAvailable()) return t.fail('Debian\'s memcached is needed (.ci/run installs it)');
  const server = await lmcached();
  const reference = await startMemcached(t);
  const results: Record<string, { fetch: string[]; store: string[]; conn: string[] }> = {};
  for (const [name, port] of [['memcached', reference], ['lmcached', server.port]] as const) {
    const fetchers = await watcher(port, 'fetchers');
    const mutations = await watcher(port, 'mutations connevents');
    t.equal(fetchers.lines[0], 'OK\r', `${name}: OK first`);
    // Reads: logged alike. Stores: memcached also logs the reads it does inside a store, so
    // the two are compared through separate watchers.
    await exchange(port, 'set a%20b 0 0 1\r\nx\r\nset k 0 100 2\r\nhi\r\nadd k 0 0 1\r\ny\r\ncas k 0 0 1 999999\r\nz\r\ncas nok 0 0 1 1\r\nz\r\nreplace nok 0 0 1\r\nz\r\nappend k 0 0 1\r\nz\r\n');
    await exchange(port, 'get k nope\r\ngets k\r\ngat 50 k\r\ntouch k 60\r\nmg k v\r\nmg nope v\r\n');
    await until(() => fetchers.lines.filter((l) => l.includes('key=nope')).length >= 2 && mutations.lines.filter((l) => l.includes('conn_close')).length >= 2, 'the log lines');
    t.match(fetchers.lines[1], /^ts=\d+\.\d+ gid=\d+ type=item_get /, `${name}: timestamp and gid`);
    results[name] = {
      fetch: fetchers.lines.filter((l) => /key=(k|nope) /.test(l)).map(maskLog),
      store: mutations.lines.filter((l) => l.includes('type=item_store')).map(maskLog),
      conn: mutations.lines.filter((l) => l.includes('type=conn_')).map(maskLog),
    };
    fetchers.socket.destroy();
    mutations.socket.destroy();
  }
  const lm = results.lmcached;
  const mc = results.memcached;
  t.same(lm.fetch.slice(-7), mc.fetch.slice(-7), 'item_get lines of get, gets, gat, touch and mg');
  t.equal(lm.fetch.length, 7, 'lmcached logs the reads of read commands only');
  t.same(lm.store, mc.store, 'item_store lines');
  // (Sorted: when the server hears of a close, next to the next connection, varies.)
  t.same([...lm.conn].sort(), [...mc.conn].sort(), 'conn_new and conn_close lines');
  t.same(lm.store.map((l) => l.split(' ')[2]), ['status=stored', 'status=stored', 'status=not_stored', 'status=exists', 'status=not_found', 'status=not_stored', 'status=stored']);
});

t.test('watch: binary and meta commands are logged, the limit is 20, input is ignored, a gone watcher is dropped', async (t) => {
  const server = await lmcached();
  const w = await watcher(server.port, 'fetchers mutations');
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());
  await c.call({ opcode: Op.SET, key: 'bk', vbucket: 3, extras: setExtras(0, 0), value: 'vv' });
  await c.call({ opcode: Op.GET, key: 'bk', vbucket: 3 });
  await c.call({ opcode: Op.APPEND, key: 'bk', vbucket: 3, value: 'w' });
  await c.call({ opcode: Op.GET, key: 'no', vbucket: 3 });
  await exchange(server.port, 'ms mk 2 T0\r\nab\r\nmg mk v\r\n');
  await until(() => w.lines.length >= 7, 'seven lines');
  t.same(w.lines.slice(1).map(maskLog), [
    'type=item_store key=bk status=stored cmd=set ttl=0 clsid=1 cfd=N size=2',
    'type=item_get key=bk status=found clsid=1 cfd=N size=2',
    'type=item_store key=bk status=stored cmd=append ttl=0 clsid=1 cfd=N size=3',
    'type=item_get key=no status=not_found clsid=0 cfd=N size=0',
    'type=item_store key=mk status=stored cmd=set ttl=0 clsid=1 cfd=N size=2',
    'type=item_get key=mk status=found clsid=1 cfd=N size=2',
  ]);
  // Anything the watcher sends is ignored.
  w.socket.write('get bk\r\n');
  const more = await watcher(server.port, 'fetchers');
  const others = [more];
  for (let i = 2; i < 20; i++) others.push(await watcher(server.port, 'mutations'));
  t.equal(await exchange(server.port, 'watch\r\n'), 'WATCHER_TOO_MANY log watcher limit reached\r\n', 'the 21st watcher is refused');
  t.notOk(w.lines.some((l) => l.startsWith('VALUE')), 'the watcher\'s own get was not answered');
  for (const o of others) o.socket.destroy();
  w.socket.destroy();
  // The server hears of the closes a moment later.
  await until(async () => {
    const again = await watcher(server.port, 'fetchers');
    again.socket.destroy();
    return again.lines[0] === 'OK\r';
  }, 'a watcher accepted again');
  t.pass('watchers that closed make room');
  t.equal((await c.call({ opcode: Op.GET, key: 'bk', vbucket: 3 })).status, St.SUCCESS, 'the server serves on');
});

t.test('watch: a watcher that does not read skips lines and is told how many', async (t) => {
  const server = await lmcached(['-o', 'watcher_logbuf_size=1']);
  const w = await watcher(server.port, 'fetchers');
  w.socket.pause();
  const keys = Array.from({ length: 100 }, (_, i) => `miss${i}`).join(' ');
  const c = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  let ends = 0;
  c.on('data', (d: Buffer) => (ends += d.toString('latin1').split('END\r\n').length - 1));
  // 200,000 reads, about 18 MB of log lines: more than the socket buffers hold.
  const line = `get ${keys}\r\n`.repeat(100);
  for (let i = 0; i < 20; i++) c.write(line);
  await until(() => ends === 2000, 'every get answered', 60_000);
  c.destroy();
  w.socket.resume();
  // The count goes out with the next line that fits.
  await until(async () => {
    await exchange(server.port, 'get miss\r\n');
    return w.lines.some((l) => l.startsWith('skipped='));
  }, 'a skipped line');
  const skipped = w.lines.find((l) => l.startsWith('skipped=')) ?? '';
  t.match(skipped, /^skipped=\d+$/, 'memcached\'s skipped line');
  t.ok(Number(skipped.slice(8)) > 0);
  const stats = await exchange(server.port, 'stats\r\n');
  t.match(stats, /STAT log_watchers 1\r\n/);
  t.ok(Number(/STAT log_watcher_skipped (\d+)/.exec(stats)?.[1]) >= Number(skipped.slice(8)), 'log_watcher_skipped counts them');
  t.ok(Number(/STAT log_watcher_sent (\d+)/.exec(stats)?.[1]) > 0, 'log_watcher_sent counts what went out');
  w.socket.destroy();
});
