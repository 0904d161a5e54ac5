/**
 * A server whose log reader went away (stderr a closed pipe: the shell or supervisor that read
 * it died) keeps serving and does not spin. It used to: each failed write to stderr raised an
 * error whose report was another failed write, a loop at 100% CPU found when a test runner
 * left replicas behind. The bound below is loose on purpose (a spin is a whole core; an idle
 * replica retrying its link uses almost nothing).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op, St } from '../fixtures/frames.js';
import { freePort } from '../fixtures/pair.js';
import { CLI, removeDataDir, tempDataDir } from '../fixtures/server.js';

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

t.test('with stderr closed, the server keeps serving and stays idle', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => removeDataDir(dataDir));
  const port = await freePort();
  const nobody = await freePort();
  // A replica of a port nobody listens on logs a line at every retry: something to write.
  const proc = spawn(process.execPath, [CLI, '-p', String(port), '--data-dir', dataDir, '--vbuckets', '4', '--replica-of', `127.0.0.1:${nobody}`, '-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => proc.kill('SIGKILL'));
  let log = '';
  await new Promise<void>((resolve) => {
    proc.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      if (/warmup: complete/.test(log)) resolve();
    });
  });
  proc.stderr.destroy();
  const pid = proc.pid ?? 0;
  const before = cpuSeconds(pid);
  const c = await RawClient.connect(port);
  t.teardown(() => c.end());
  for (let i = 0; i < 20; i++) {
    t.equal((await c.call({ opcode: Op.VERSION })).status, St.SUCCESS);
    await new Promise((r) => setTimeout(r, 150));
  }
  const used = cpuSeconds(pid) - before;
  t.ok(used < 1.5, `CPU used over 3 s with stderr closed: ${used.toFixed(2)} s (a spin would be about 3)`);
});
