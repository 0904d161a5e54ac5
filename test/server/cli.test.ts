/**
 * The lmcached command line: --help lists memcached's flags and ours, --version, bad flags exit
 * with a usage error, and the flags reach the running server (stats settings).
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { clientFor, serverFor } from '../fixtures/harness.js';
import { CLI } from '../fixtures/server.js';
import { until } from '../fixtures/wait.js';
import { parseArgs } from '../../lib/settings.js';

const run = (...args: string[]): { status: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

t.test('--help and --version', async (t) => {
  const help = run('--help');
  t.equal(help.status, 0);
  for (const flag of ['-p, --port', '-l, --listen', '-c, --max-connections', '-I, --max-item-size', '-m, --memory-limit', '-v, --verbose', '-o, --extended', '--data-dir', '--ack', '--vbuckets', '--flush-interval-ms', '--dcp-batch-ms', '--purge-age', '--purge-interval', '--helper-nice', '--helper-policy', '--replica-of', '--replica-force', '-S, --enable-sasl', '--sasl-pwdb', '-Y, --auth-file', '-Z, --enable-ssl', 'ssl_chain_cert', 'ssl_verify_mode', '--replica-tls', 'lmcached tail', 'lmcached passwd']) {
    t.match(help.stdout, flag, `lists ${flag}`);
  }
  t.match(run('-V').stdout, /^lmcached \d+\.\d+\.\d+\n$/);
  t.match(run('tail', '--help').stdout, /--vbucket <num>/, 'tail has its own help');
  for (const args of [['tail', '--bogus'], ['tail', '--user', 'u'], ['tail', '--port', '1']]) {
    const r = run(...args);
    t.equal(r.status, 1, `${args.join(' ')}: exit 1`);
    t.match(r.stderr, /^lmcached tail: .+\n$/, `${args.join(' ')}: one line saying why, no stack trace`);
  }
});

t.test('bad flags are usage errors', async (t) => {
  for (const args of [['--bogus'], ['--ack', 'sometimes'], ['-p', 'x'], ['-p', '70000'], ['-I', '5q'], ['-I', '10'], ['-m', 'lots'], ['-m', '-1'], ['--helper-nice', '20'], ['--helper-policy', 'fast'], ['--dcp-batch-ms', 'x'], ['--dcp-batch-ms', '1001'], ['--port'], ['-o', 'bogus=1'], ['-o', 'idle_timeout'], ['-o', 'idle_timeout=x'], ['-o'], ['--replica-of', 'nohost'], ['--replica-of', 'h:0'], ['--replica-of', 'h:x'], ['--replica-force'], ['--replica-user', 'u'], ['--replica-password-file', 'f'], ['-Z'], ['-o', 'ssl_verify_mode=9'], ['-o', 'ssl_min_version=tlsv2'], ['-o', 'ssl_key='], ['--replica-tls-cert', 'c'], ['-Y']]) {
    const r = run(...args);
    t.equal(r.status, 64, `${args.join(' ')}: exit 64`);
    t.match(r.stderr, /^lmcached: .+\n\nUsage: lmcached/, `${args.join(' ')}: says why, then the usage`);
  }
});

t.test('flags reach the server', async (t) => {
  const server = await serverFor(t, { args: ['-l', '127.0.0.1', '-c', '77', '-I', '2m', '-m', '3', '--ack=persist', '--vbuckets', '8', '--flush-interval-ms', '5', '--dcp-batch-ms', '7', '--purge-age', '60', '--purge-interval', '30', '--helper-nice', '3', '-v'] });
  const c = await clientFor(t, server.port);
  const s = await c.stats('settings');
  t.same(
    ['maxconns', 'interface', 'item_size_max', 'maxbytes', 'ack', 'vbuckets', 'flush_interval_ms', 'dcp_batch_ms', 'purge_age', 'purge_interval', 'helper_nice', 'verbosity'].map((k) => s.get(k)),
    ['77', '127.0.0.1', String(2 * 1024 * 1024), String(3 * 1024 * 1024), 'persist', '8', '5', '7', '60', '30', '3', '1'],
  );
  // A malformed request is logged at debug level only.
  const bad = await clientFor(t, server.port);
  bad.send({ opcode: 0x00, key: 'k', extras: Buffer.alloc(4) });
  await bad.untilClosed();
  await until(() => / debug protocol error/.test(server.log()), 'the debug line');
  t.pass('-v turns on debug logging');
});

t.test('defaults that follow --ack', async (t) => {
  const of = (...args: string[]): [number, number] => {
    const { settings } = parseArgs(args);
    return [settings.flushIntervalMs, settings.dcpBatchMs];
  };
  t.same(of(), [5, 10], '--ack=memory: commits batched 5 ms, DCP writes 10 ms');
  t.same(of('--ack', 'persist'), [0, 1], '--ack=persist: commit at once, DCP writes within a millisecond');
  t.same(of('--dcp-batch-ms', '0'), [5, 0], 'the flag wins');
});
