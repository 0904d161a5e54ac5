/**
 * Every start-up failure is one error line naming the path (or address) and the problem, a
 * distinct non-zero exit code, at once, and no change to the data: a data directory that
 * cannot be created, is a file, or is read-only (73); a data.mdb whose header is damaged, that
 * is truncated, or that is not LMDB at all (65, where LMDB itself would crash the process); a
 * port already in use (71, memcached's words).
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Op, St, setExtras } from '../fixtures/frames.js';
import { withClient } from '../fixtures/client.js';
import { removeDataDir, runToExit, startServer, tempDataDir } from '../fixtures/server.js';

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-startup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the server on `dataDir` and checks it ends with `code` and one error line matching
 * `line`, and no stack trace. */
async function failsWith(t: Test, dataDir: string, code: number, line: RegExp | string, args: string[] = []): Promise<void> {
  const run = await runToExit({ dataDir, args });
  t.equal(run.code, code, `exit code ${code}`);
  const errors = run.log.split('\n').filter((l) => / error /.test(l));
  t.equal(errors.length, 1, `one error line: ${JSON.stringify(errors)}`);
  t.match(errors[0] ?? '', line);
  t.notMatch(run.log, /\n\s+at /, 'no stack trace');
}

/** A data directory holding a few items, written and cleanly shut down by a real server. */
async function realDataFile(t: Test): Promise<Buffer> {
  const dir = tempDataDir();
  t.teardown(() => removeDataDir(dir));
  const s = await startServer({ dataDir: dir });
  await withClient(s.port, async (c) => {
    for (let i = 0; i < 50; i++) t.equal((await c.call({ opcode: Op.SET, key: `k${i}`, extras: setExtras(0, 0), value: 'v'.repeat(500) })).status, St.SUCCESS);
  });
  await s.stop('SIGTERM');
  return readFileSync(join(dir, 'data.mdb'));
}

t.test('the data directory cannot be created, is a file, or is read-only: exit 73', async (t) => {
  const dir = scratch(t);
  await failsWith(t, '/proc/lmcached-test', 73, /\/proc\/lmcached-test: cannot create the data directory \(ENOENT/);
  writeFileSync(join(dir, 'file'), 'x');
  await failsWith(t, join(dir, 'file'), 73, /: not a directory/);
  await failsWith(t, join(dir, 'file', 'below'), 73, /: cannot use the data directory \(ENOTDIR/);
  const ro = join(dir, 'ro');
  mkdirSync(ro);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { stdio: 'pipe' });
  } catch {
    t.comment('cannot mount a read-only tmpfs here: read-only case not run');
    return;
  }
  t.teardown(() => execFileSync('umount', ['-l', ro]));
  await failsWith(t, ro, 73, /: the data directory is not writable \(EROFS\)/);
});

t.test('a damaged, truncated or foreign data.mdb: exit 65, the file untouched', async (t) => {
  const good = await realDataFile(t);
  const cases: Array<[string, (file: string) => void, RegExp]> = [
    ['random bytes over the first 12 KB', (f) => {
      writeFileSync(f, Buffer.concat([randomBytes(12 * 1024), good.subarray(12 * 1024)]));
    }, /not an LMDB data file, or its first page is damaged/],
    ['the second header page damaged', (f) => {
      const b = Buffer.from(good);
      b.fill(0xff, 4096, 4096 + 200);
      writeFileSync(f, b);
    }, /the second header page is damaged/],
    ['truncated', (f) => {
      writeFileSync(f, good);
      truncateSync(f, good.length - 8192);
    }, /truncated to \d+ bytes, its last transaction needs \d+/],
    ['not LMDB at all', (f) => writeFileSync(f, randomBytes(64 * 1024)), /not an LMDB data file/],
    ['too short', (f) => writeFileSync(f, 'hello'), /5 bytes, too short to be an LMDB data file/],
  ];
  for (const [name, damage, line] of cases) {
    t.test(name, async (t) => {
      const dir = scratch(t);
      const file = join(dir, 'data.mdb');
      damage(file);
      const before = readFileSync(file);
      await failsWith(t, dir, 65, line);
      t.ok(readFileSync(file).equals(before), 'data.mdb is not rewritten');
    });
  }
  t.test('the intact file still opens', async (t) => {
    const dir = scratch(t);
    writeFileSync(join(dir, 'data.mdb'), good);
    const s = await startServer({ dataDir: dir });
    await withClient(s.port, async (c) => t.equal((await c.call({ opcode: Op.GET, key: 'k7' })).value.toString(), 'v'.repeat(500)));
    await s.stop('SIGKILL');
  });
});

t.test('a port already in use: memcached\'s line and exit 71', async (t) => {
  const first = await startServer();
  t.teardown(async () => {
    await first.stop('SIGKILL');
    removeDataDir(first.dataDir);
  });
  const dir = scratch(t);
  const run = await runToExit({ dataDir: dir, args: ['-p', String(first.port)] });
  t.equal(run.code, 71);
  t.match(run.log, /error failed to listen on one of interface\(s\) 127\.0\.0\.1: Address already in use/);
  t.notMatch(run.log, /\n\s+at /, 'no stack trace');
});
