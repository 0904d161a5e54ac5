/**
 * The package as a user gets it: `npm pack` builds it (the prepack script, from a copy of the
 * checkout with no build/), the tarball holds only what running needs, `npm install -g
 * --prefix` installs it, and the installed `lmcached` answers --version and --help, serves a
 * SET and a GET to memjs, and stops cleanly on SIGTERM. The example systemd unit passes
 * `systemd-analyze verify` where the machine has it.
 *
 * The copy keeps `npm pack` from rebuilding the build/ other tests run from.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';

const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

interface MemjsClient {
  get(key: string): Promise<{ value: Buffer | null }>;
  set(key: string, value: string): Promise<boolean>;
  close(): void;
}
const memjs = createRequire(import.meta.url)('memjs') as { Client: { create(servers: string, opts: object): MemjsClient } };

/** npm's own variables from the `npm test` around us (a prefix, a global flag) must not leak
 * into the npm commands run here; its cache and registry settings may stay. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.toLowerCase().startsWith('npm_') && !/^npm_config_(cache|registry|userconfig)$/i.test(k)) continue;
    env[k] = v;
  }
  return env;
}

function run(cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, env: npmEnv(), encoding: 'utf8', timeout: 240_000 });
}

const work = mkdtempSync(join(tmpdir(), 'lmcached-pack-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

t.test('npm pack builds, npm install -g --prefix installs, the installed lmcached runs', async (t) => {
  // A copy of the checkout's sources, as a clean clone has them: no build/.
  const src = join(work, 'src');
  mkdirSync(src);
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'README.md', 'LICENSE', 'lib', 'protocol', 'bench', 'contrib']) cpSync(join(ROOT, f), join(src, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'dir');

  const packed = run('npm', ['pack', '--json', '--pack-destination', work], src);
  t.equal(packed.status, 0, `npm pack: ${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const files = info.files.map((f) => f.path).sort();
  t.ok(files.includes('build/lib/cli.js'), 'the prepack script built the server');
  t.ok(files.includes('build/protocol/framer.js'), 'and the wire format');
  for (const f of ['package.json', 'README.md', 'LICENSE', 'contrib/lmcached.service']) t.ok(files.includes(f), `holds ${f}`);
  t.same(files.filter((f) => !/^build\/(lib|protocol)\/.+\.js$/.test(f) && !['package.json', 'README.md', 'LICENSE', 'contrib/lmcached.service'].includes(f)), [], 'nothing else: no tests, benches, sources or maps');
  const cli = readFileSync(join(src, 'build/lib/cli.js'), 'utf8');
  t.ok(cli.startsWith('#!/usr/bin/env node\n'), 'the bin starts with its shebang');
  t.notMatch(cli, /sourceMappingURL/, 'no reference to a source map that is not shipped');

  const prefix = join(work, 'prefix');
  const installed = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, info.filename)], work);
  t.equal(installed.status, 0, `npm install -g --prefix: ${installed.stderr}`);
  const bin = join(prefix, 'bin', 'lmcached');
  t.ok(existsSync(bin), 'installs bin/lmcached');
  t.equal(realpathSync(bin), join(realpathSync(prefix), 'lib/node_modules/lmcached/build/lib/cli.js'), 'which is the installed copy, not the checkout');

  const version = run(bin, ['--version'], work);
  t.equal(version.stdout, `lmcached ${pkg.version}\n`, '--version is the package version');
  const help = run(bin, ['--help'], work);
  t.equal(help.status, 0, '--help exits 0');
  t.match(help.stdout, /Usage: lmcached/, '--help');

  // Started as an operator would: a free port (-p 0, read back from the log), its own data dir.
  const dataDir = join(work, 'data');
  const proc = spawn(bin, ['-l', '127.0.0.1', '-p', '0', '--data-dir', dataDir], { cwd: work, env: npmEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<number | null>((res) => proc.once('exit', (code) => res(code)));
  t.teardown(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let log = '';
  const port = await new Promise<number>((res, rej) => {
    proc.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(log);
      if (m && /warmup: complete/.test(log)) res(Number(m[1]));
    });
    void exited.then((code) => rej(new Error(`installed lmcached exited (${code}):\n${log}`)));
  });
  const mc = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, logger: { log: () => {} } });
  t.equal(await mc.set('installed', 'runs'), true, 'SET through memjs');
  t.equal((await mc.get('installed')).value?.toString(), 'runs', 'GET through memjs');
  mc.close();
  proc.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM is a clean stop (exit 0), as the systemd unit expects');

  // The example unit, pointed at the installed bin (verify checks that ExecStart exists).
  const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (analyze.error !== undefined || analyze.status !== 0) {
    t.comment('systemd-analyze is not on this machine: the unit is not verified');
    return;
  }
  const unit = readFileSync(join(ROOT, 'contrib/lmcached.service'), 'utf8');
  t.match(unit, /^ExecStart=\/usr\/local\/bin\/lmcached .*--data-dir \/var\/lib\/lmcached$/m, 'the unit runs lmcached on its data directory');
  for (const line of ['User=lmcached', 'StateDirectory=lmcached', 'KillSignal=SIGTERM', 'Restart=on-failure']) t.match(unit, new RegExp(`^${line}$`, 'm'), line);
  const unitFile = join(work, 'lmcached.service');
  writeFileSync(unitFile, unit.replace('/usr/local/bin/lmcached', bin));
  const verified = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
  t.equal(verified.status, 0, `systemd-analyze verify: ${verified.stderr}`);
  t.equal(verified.stderr.trim(), '', 'with no warning');
});
