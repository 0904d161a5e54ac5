/**
 * Debian's nutcracker (twemproxy) with ketama in front of two lmcached nodes, text protocol:
 * every key written through the proxy lands on exactly one node, both nodes get a share, every
 * key reads back through the proxy, and the proxy reads it from the node that holds it (a value
 * changed directly on that node is what the proxy returns).
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { exchange } from '../fixtures/memcached.js';
import { freePort } from '../fixtures/pair.js';
import { removeDataDir, startServer, tempDataDir } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';

const KEYS = 200;

t.test('twemproxy (ketama) routes every key to one lmcached node and reads it back from there', async (t) => {
  if (spawnSync('sh', ['-c', 'command -v nutcracker'], { encoding: 'utf8' }).status !== 0) return t.fail('Debian\'s nutcracker is needed (.ci/run installs it)');
  const nodes = [await startServer(), await startServer()];
  const dir = tempDataDir();
  t.teardown(async () => {
    for (const n of nodes) {
      await n.stop('SIGKILL');
      removeDataDir(n.dataDir);
    }
    removeDataDir(dir);
  });
  const port = await freePort();
  const config = join(dir, 'nutcracker.yml');
  writeFileSync(config, [
    'pool:',
    `  listen: 127.0.0.1:${port}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  timeout: 2000',
    '  auto_eject_hosts: false',
    '  servers:',
    ...nodes.map((n, i) => `    - 127.0.0.1:${n.port}:1 node${i}`),
    '',
  ].join('\n'));
  const proxy = spawn('nutcracker', ['-c', config, '-o', join(dir, 'nutcracker.log'), '-s', String(await freePort())], { stdio: 'ignore' });
  t.teardown(() => proxy.kill('SIGKILL'));
  await until(() => new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  }), 'nutcracker to listen');

  const keys = Array.from({ length: KEYS }, (_, i) => `proxied-key-${i}`);
  const sets = await exchange(port, keys.map((k) => `set ${k} 0 0 ${k.length + 1}\r\n${k}!\r\n`).join(''));
  t.equal(sets, 'STORED\r\n'.repeat(KEYS), 'every set through the proxy stored');

  const holder = new Map<string, number>();
  for (const [i, n] of nodes.entries()) {
    const got = await exchange(n.port, `get ${keys.join(' ')}\r\n`);
    for (const m of got.matchAll(/^VALUE (\S+) /gm)) {
      t.notOk(holder.has(m[1]), `${m[1]} is on one node only`);
      holder.set(m[1], i);
    }
  }
  t.equal(holder.size, KEYS, 'every key landed on a node');
  const share = nodes.map((_, i) => [...holder.values()].filter((h) => h === i).length);
  t.ok(share.every((s) => s > 0), `both nodes hold keys (${share.join(' / ')})`);

  const read = await exchange(port, keys.map((k) => `get ${k}\r\n`).join(''));
  t.equal(read, keys.map((k) => `VALUE ${k} 0 ${k.length + 1}\r\n${k}!\r\nEND\r\n`).join(''), 'every key reads back through the proxy');

  // Change every value directly on its node: the proxy must return the changed values.
  for (const [i, n] of nodes.entries()) {
    const mine = keys.filter((k) => holder.get(k) === i);
    await exchange(n.port, mine.map((k) => `set ${k} 7 0 ${k.length + 2}\r\n${k}@${i}\r\n`).join(''));
  }
  const again = await exchange(port, keys.map((k) => `get ${k}\r\n`).join(''));
  t.equal(again, keys.map((k) => `VALUE ${k} 7 ${k.length + 2}\r\n${k}@${holder.get(k)}\r\nEND\r\n`).join(''), 'the proxy reads each key from the node that holds it');
});
