/**
 * `lmcached tail`: prints a server's change stream, one line per mutation, deletion and
 * expiration, following it live. Streams every vBucket, or one with --vbucket.
 */
import { readFileSync } from 'node:fs';
import { DcpConsumer } from './dcp/consumer.js';
import { loadClientTls } from './tls/client-tls.js';
import type { TlsClientSettings } from './settings.js';

export const TAIL_HELP = `Usage: lmcached tail [options]
Print the change stream (DCP) of an lmcached server: one line per mutation, deletion and
expiration, with vbucket, seqno and key; then follow new changes until interrupted.

  --host <addr>      server address (default: 127.0.0.1)
  --port <num>       server port (default: 11211)
  --vbucket <num>    only this vBucket (default: every active vBucket)
  --user <name>      authenticate as this SASL user (a server started with -S)
  --password-file <file>  the file holding that user's password
  --tls              connect over TLS (a server started with -Z)
  --tls-ca <file>    the CA that signed the server's certificate (implies --tls)
  --tls-cert <file>, --tls-key <file>  a client certificate (ssl_verify_mode 2)
  -h, --help         print this help and exit
`;

interface TailOptions {
  host: string;
  port: number;
  vbucket: number | null;
  user: string | null;
  passwordFile: string | null;
  tls: TlsClientSettings | null;
}

function parse(argv: readonly string[]): TailOptions | null {
  const o: TailOptions = { host: '127.0.0.1', port: 11211, vbucket: null, user: null, passwordFile: null, tls: null };
  const tls = (): TlsClientSettings => (o.tls ??= { ca: null, cert: null, key: null });
  for (let i = 0; i < argv.length; i++) {
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return x;
    };
    switch (argv[i]) {
      case '--host':
        o.host = v();
        break;
      case '--port':
        o.port = Number(v());
        break;
      case '--vbucket':
        o.vbucket = Number(v());
        break;
      case '--user':
        o.user = v();
        break;
      case '--password-file':
        o.passwordFile = v();
        break;
      case '--tls':
        tls();
        break;
      case '--tls-ca':
        tls().ca = v();
        break;
      case '--tls-cert':
        tls().cert = v();
        break;
      case '--tls-key':
        tls().key = v();
        break;
      case '-h':
      case '--help':
        return null;
      default:
        throw new Error(`unknown option: ${argv[i]}`);
    }
  }
  if ((o.user === null) !== (o.passwordFile === null)) throw new Error('--user and --password-file go together');
  return o;
}

const show = (key: Buffer): string => JSON.stringify(key.toString('utf8'));

export async function runTail(argv: readonly string[], write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const o = parse(argv);
  if (o === null) {
    process.stdout.write(TAIL_HELP);
    return;
  }
  const auth = o.user === null || o.passwordFile === null ? undefined : { user: o.user, password: readFileSync(o.passwordFile, 'utf8').replace(/\r?\n$/, '') };
  const consumer = await DcpConsumer.connect(
    o.host,
    o.port,
    {
      mutation: (vb, seqno, key, value, flags, expiry) => write(`vb=${vb} seqno=${seqno} mutation key=${show(key)} flags=${flags} expiry=${expiry} bytes=${value.length}`),
      deletion: (vb, seqno, key) => write(`vb=${vb} seqno=${seqno} deletion key=${show(key)}`),
      expiration: (vb, seqno, key) => write(`vb=${vb} seqno=${seqno} expiration key=${show(key)}`),
      streamEnd: (vb, flags) => write(`vb=${vb} stream-end flags=${flags}`),
    },
    { name: `lmcached-tail:${process.pid}`, bufferSize: 1024 * 1024, noopSeconds: 60, auth, tls: o.tls === null ? null : loadClientTls(o.tls) },
  );
  const vbs = o.vbucket === null ? await consumer.vbuckets() : [o.vbucket];
  for (const vb of vbs) await consumer.stream(vb);
  process.once('SIGINT', () => consumer.close());
  process.once('SIGTERM', () => consumer.close());
}
