/**
 * Debian's python3-pymemcache (text protocol) through its whole Client API, against lmcached
 * and, with the same script, against Debian's memcached: both must pass every check.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import t, { type Test } from 'tap';
import { ACK_MODES, serverFor } from '../fixtures/harness.js';
import { memcachedAvailable, startMemcached } from '../fixtures/memcached.js';

const script = resolve(import.meta.dirname, 'pymemcache_check.py');

function runScript(t: Test, port: number, who: string): void {
  const run = spawnSync('/usr/bin/python3', [script, String(port)], { encoding: 'utf8', timeout: 60_000 });
  const lines = run.stdout.split('\n').filter(Boolean);
  for (const line of lines) {
    if (line.startsWith('PASS ')) t.pass(`${who}: ${line.slice(5)}`);
    else if (line.startsWith('FAIL ')) t.fail(`${who}: ${line.slice(5)}`);
  }
  t.equal(run.status, 0, `${who}: exit status (stderr: ${run.stderr.trim()})`);
  t.equal(lines[lines.length - 1], 'DONE', `${who}: every check ran`);
}

t.test('the script passes against memcached (the reference)', async (t) => {
  if (!memcachedAvailable()) return t.fail('Debian\'s memcached is needed (.ci/run installs it)');
  runScript(t, await startMemcached(t), 'memcached');
});

for (const mode of ACK_MODES) {
  t.test(`pymemcache against lmcached (--ack=${mode})`, async (t) => {
    const server = await serverFor(t, { args: ['--ack', mode] });
    runScript(t, server.port, 'lmcached');
  });
}
