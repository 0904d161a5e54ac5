/**
 * memcached's meta commands (mn, me, mg, ms, md, ma), byte for byte as memcached 1.6.18 answers
 * them, CAS values aside (each server has its own: a c<number> becomes c<cas> on both sides)
 * and l's 0 or 1 (see `normal`).
 * Each expected reply is checked against lmcached and against Debian's memcached started by
 * the test.
 */
import t from 'tap';
import { exchange, expectMemcachedReplies, type ReplyCase } from '../fixtures/memcached.js';
import { removeDataDir, startServer } from '../fixtures/server.js';
import { RawClient } from '../fixtures/client.js';
import { Op, St, setExtras } from '../fixtures/frames.js';

const CASES: ReplyCase[] = [
  ['mn', 'mn\r\n', 'MN\r\n'],
  ['ms with flags, TTL, and the c k O echo', 'ms m1 2 T0 F5 c k O123\r\nhi\r\n', 'HD c<cas> km1 O123\r\n'],
  ['mg with every value flag', 'mg m1 v s f t k O9 c\r\n', 'VA 2 s2 f5 t-1 km1 O9 c<cas>\r\nhi\r\n'],
  ['mg without v: HD', 'mg m1\r\nmg m1 s\r\n', 'HD\r\nHD s2\r\n'],
  ['mg miss: EN with O and k', 'mg nokey v O1 k\r\n', 'EN O1 knokey\r\n'],
  ['mg miss in quiet mode: nothing', 'mg nokey v q\r\nmn\r\n', 'MN\r\n'],
  ['mg T touches', 'ms m2 1 T100\r\nx\r\nmg m2 T0 t v\r\nmg m2 t\r\n', 'HD\r\nVA 1 t-1\r\nx\r\nHD t-1\r\n'],
  ['md, quiet success, then a miss', 'md m1 q\r\nmg m1 v\r\nmd m1\r\nmd m1 q\r\n', 'EN\r\nNF\r\nNF\r\n'],
  ['md with a wrong CAS', 'ms m3 1\r\nx\r\nmd m3 C1\r\nmg m3 v\r\n', 'HD\r\nEX\r\nVA 1\r\nx\r\n'],
  ['ma on a miss, then vivified', 'ma c1\r\nma c1 N0 J10 v\r\nma c1 v\r\nma c1 v MD D3\r\nma c1 M- D100 v\r\n', 'NF\r\nVA 2\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n8\r\nVA 1\r\n0\r\n'],
  ['ma quiet and echo', 'ma c1 q\r\nma c1 O5 k v\r\nma nokey O6 k\r\n', 'VA 1 O5 kc1\r\n2\r\nNF O6 knokey\r\n'],
  ['ma on a non-number', 'ms c2 1\r\nx\r\nma c2\r\n', 'HD\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n'],
  ['ms modes: add, append, prepend, replace', 'ms m4 2 ME\r\nab\r\nms m4 2 ME\r\ncd\r\nms m4 2 MA\r\nef\r\nms m4 2 MP\r\ngh\r\nms nom4 1 MR\r\nx\r\nms nom4 1 MA\r\nx\r\nmg m4 v\r\n', 'HD\r\nNS\r\nHD\r\nHD\r\nNS\r\nNS\r\nVA 6\r\nghabef\r\n'],
  ['ms with a wrong CAS, and on a missing key', 'ms m4 1 C1\r\nx\r\nms nom5 1 C1\r\nx\r\n', 'EX\r\nNF\r\n'],
  ['ms quiet', 'ms m6 1 q\r\nx\r\nmn\r\n', 'MN\r\n'],
  ['base64 keys', 'ms bWs0 2 b k\r\nxy\r\nmg bWs0 b v k\r\nmg !!!! b v\r\n', 'HD kbWs0 b\r\nVA 2 kbWs0 b\r\nxy\r\nCLIENT_ERROR error decoding key\r\n'],
  ['bad modes', 'ma c1 MX\r\nms m7 2 MZ\r\nhi\r\nms m7 2 MSS\r\nhi\r\n', 'CLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid mode for ms M token\r\nCLIENT_ERROR incorrect length for M token\r\n'],
  ['flag errors', 'mg m4 zz\r\nmg m4 v v\r\nmg m4 Tx\r\nmd m4 zz\r\nma m4 Dx\r\nma m4 Jx N0\r\n', 'CLIENT_ERROR invalid flag\r\nCLIENT_ERROR duplicate flag\r\nCLIENT_ERROR bad token in command line format\r\nCLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n'],
  ['ms argument errors (no data block is swallowed before the size is read)', 'ms m8\r\nms m8 abc\r\nms m8 -1\r\n', 'CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n'],
  ['a bad data chunk', 'ms m9 2\r\nabc\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n'],
  ['mg and md without a key, and unknown meta commands', 'mg\r\nmd\r\nmz k\r\n', 'ERROR\r\nERROR\r\nERROR\r\n'],
  ['a 251-byte key', `mg ${'x'.repeat(251)} v\r\n`, 'CLIENT_ERROR bad command line format\r\n'],
  ['an opaque over 32 bytes', `mg m4 O${'9'.repeat(33)}\r\n`, 'CLIENT_ERROR opaque token too long\r\n'],
  ['me', 'me nokey\r\nme\r\n', 'EN\r\nCLIENT_ERROR bad command line format\r\n'],
  ['N vivifies a miss: the first client wins (W), the others see Z', 'mg v1 N30 v t\r\nmg v1 N30 v t\r\nms v1 3 T60\r\nnew\r\nmg v1 v\r\n', 'VA 0 t30 W\r\n\r\nVA 0 t30 Z\r\n\r\nHD\r\nVA 3\r\nnew\r\n'],
  ['md I marks stale (X), one client wins the recache', 'md v1 I T30\r\nmg v1 v t\r\nmg v1 v\r\n', 'HD\r\nVA 3 t30 X W\r\nnew\r\nVA 3 Z X\r\nnew\r\n'],
  ['ms I with an older CAS stores, a plain ms makes the item fresh', 'ms v1 3 I C1\r\nold\r\nms v1 3\r\nfix\r\nmg v1 v\r\n', 'HD\r\nHD\r\nVA 3\r\nfix\r\n'],
  ['R wins once when the TTL left is under it', 'ms r1 1 T5\r\nx\r\nmg r1 R10 v\r\nmg r1 R10 v\r\nmg r1 R1 v\r\n', 'HD\r\nVA 1 W\r\nx\r\nVA 1 Z\r\nx\r\nVA 1 Z\r\nx\r\n'],
  ['md I of a missing key, and with a wrong CAS', 'md nokey I\r\nms i2 1\r\nx\r\nmd i2 I C1\r\nmg i2 v\r\n', 'NF\r\nHD\r\nEX\r\nVA 1\r\nx\r\n'],
  ['h and l: fetched before, and seconds since the last access', 'ms h1 1\r\nx\r\nmg h1 h l\r\nmg h1 h l\r\nms h1 1\r\ny\r\nmg h1 h\r\n', 'HD\r\nHD h0 l<0-1>\r\nHD h1 l<0-1>\r\nHD\r\nHD h0\r\n'],
  ['a classic get fetches too', 'ms h2 1\r\nx\r\nget h2\r\nmg h2 h\r\n', 'HD\r\nVALUE h2 0 1\r\nx\r\nEND\r\nHD h1\r\n'],
  ['u reads without marking', 'ms h3 1\r\nx\r\nmg h3 h u\r\nmg h3 h u\r\nmg h3 h\r\nmg h3 h\r\n', 'HD\r\nHD h0\r\nHD h0\r\nHD h0\r\nHD h1\r\n'],
  ['h and l on a miss, and on a vivified item', 'mg nokey h l\r\nmg h4 N30 h l\r\nmg h4 h\r\n', 'EN\r\nHD h0 l<0-1> W\r\nHD h1 Z\r\n'],
  ['meta and classic on the same items', 'set cl1 3 0 2\r\nab\r\nmg cl1 v f\r\nms cl2 2 F9\r\ncd\r\nget cl2\r\n', 'STORED\r\nVA 2 f3\r\nab\r\nHD\r\nVALUE cl2 9 2\r\ncd\r\nEND\r\n'],
];

/** CAS values differ by server; l and t count whole seconds on a clock that may tick between
 * two commands, so l0 and l1 both mean "just now" and t29 is a TTL of 30 set a moment ago
 * (anything further off still fails). */
const normal = (s: string): string => s.replace(/ c\d+/g, ' c<cas>').replace(/ l[01](?=[ \r])/g, ' l<0-1>').replace(/ t29(?=[ \r])/g, ' t30');

t.test('meta commands answer as memcached 1.6.18', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  await expectMemcachedReplies(t, server.port, CASES, normal);
});

t.test('stats count meta commands', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  await exchange(server.port, 'mn\r\nmg k v\r\nms k 1\r\nx\r\n');
  t.match(await exchange(server.port, 'stats\r\n'), /STAT cmd_meta 3\r\n/);
});

t.test('a stale item overwritten over the binary protocol is fresh again', async (t) => {
  const server = await startServer();
  t.teardown(async () => {
    await server.stop('SIGKILL');
    removeDataDir(server.dataDir);
  });
  t.equal(await exchange(server.port, 'ms s1 3\r\nold\r\nmd s1 I\r\nmg s1 v\r\n'), 'HD\r\nHD\r\nVA 3 X W\r\nold\r\n');
  const c = await RawClient.connect(server.port);
  t.teardown(() => c.end());
  t.equal((await c.call({ opcode: Op.SET, key: 's1', extras: setExtras(0, 0), value: 'new' })).status, St.SUCCESS);
  t.equal(await exchange(server.port, 'mg s1 v\r\n'), 'VA 3\r\nnew\r\n', 'no X, no Z: the state belonged to the old version');
});
