/**
 * Debian's memccapable (libmemcached's memcapable) in binary mode: every test must pass.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { ACK_MODES, serverFor } from '../fixtures/harness.js';

for (const mode of ACK_MODES) {
  t.test(`memccapable -b (--ack=${mode})`, async (t) => {
    const server = await serverFor(t, { args: ['--ack', mode] });
    const run = spawnSync('memccapable', ['-b', '-h', '127.0.0.1', '-p', String(server.port)], { encoding: 'utf8', timeout: 120_000 });
    const out = `${run.stdout}${run.stderr}`;
    const results = [...out.matchAll(/^(binary \S+)\s+\[(\w+)\]/gm)];
    t.ok(results.length >= 27, `ran ${results.length} binary tests`);
    for (const [, name, verdict] of results) t.equal(verdict, 'pass', name);
    t.match(out, /All tests passed/);
    t.equal(run.status, 0);
  });
}
