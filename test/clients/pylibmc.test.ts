/**
 * pylibmc (libmemcached) with binary=True, unchanged, against a real lmcached process.
 * Debian's python3-pylibmc installs for /usr/bin/python3, so that interpreter is used.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import t from 'tap';
import { ACK_MODES, serverFor } from '../fixtures/harness.js';

const script = resolve(import.meta.dirname, 'pylibmc_check.py');

for (const mode of ACK_MODES) {
  t.test(`pylibmc binary mode (--ack=${mode})`, async (t) => {
    const server = await serverFor(t, { args: ['--ack', mode] });
    const run = spawnSync('/usr/bin/python3', [script, String(server.port)], { encoding: 'utf8', timeout: 60_000 });
    const lines = run.stdout.split('\n').filter(Boolean);
    for (const line of lines) {
      if (line.startsWith('PASS ')) t.pass(line.slice(5));
      else if (line.startsWith('FAIL ')) t.fail(line.slice(5));
    }
    t.equal(run.status, 0, `pylibmc script exit status (stderr: ${run.stderr.trim()})`);
    t.equal(lines[lines.length - 1], 'DONE', 'every check ran');
  });
}
