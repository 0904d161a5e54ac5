/**
 * `lmcached tail`: prints a server's change stream, one line per mutation, deletion and
 * expiration, following it live. Streams every vBucket, or one with --vbucket.
 */
import { OP } from '../protocol/opcodes.js';
import { encodeRequest } from '../protocol/request-encoder.js';
import { requestOnce } from './client/one-request.js';
import { DcpConsumer } from './dcp/consumer.js';

export const TAIL_HELP = `Usage: lmcached tail [options]
Print the change stream (DCP) of an lmcached server: one line per mutation, deletion and
expiration, with vbucket, seqno and key; then follow new changes until interrupted.

  --host <addr>      server address (default: 127.0.0.1)
  --port <num>       server port (default: 11211)
  --vbucket <num>    only this vBucket (default: every active vBucket)
  -h, --help         print this help and exit
`;

interface TailOptions {
  host: string;
  port: number;
  vbucket: number | null;
}

function parse(argv: readonly string[]): TailOptions | null {
  const o: TailOptions = { host: '127.0.0.1', port: 11211, vbucket: null };
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
      case '-h':
      case '--help':
        return null;
      default:
        throw new Error(`unknown option: ${argv[i]}`);
    }
  }
  return o;
}

/** The active vBuckets, from GET_ALL_VB_SEQNOS. */
async function activeVBuckets(host: string, port: number): Promise<number[]> {
  const { value: body } = await requestOnce(host, port, encodeRequest({ opcode: OP.GET_ALL_VB_SEQNOS, extras: Buffer.from([0, 0, 0, 1]) }));
  return Array.from({ length: body.length / 10 }, (_, i) => body.readUInt16BE(i * 10));
}

const show = (key: Buffer): string => JSON.stringify(key.toString('utf8'));

export async function runTail(argv: readonly string[], write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const o = parse(argv);
  if (o === null) {
    process.stdout.write(TAIL_HELP);
    return;
  }
  const vbs = o.vbucket === null ? await activeVBuckets(o.host, o.port) : [o.vbucket];
  const consumer = await DcpConsumer.connect(
    o.host,
    o.port,
    {
      mutation: (vb, seqno, key, value, flags, expiry) => write(`vb=${vb} seqno=${seqno} mutation key=${show(key)} flags=${flags} expiry=${expiry} bytes=${value.length}`),
      deletion: (vb, seqno, key) => write(`vb=${vb} seqno=${seqno} deletion key=${show(key)}`),
      expiration: (vb, seqno, key) => write(`vb=${vb} seqno=${seqno} expiration key=${show(key)}`),
      streamEnd: (vb, flags) => write(`vb=${vb} stream-end flags=${flags}`),
    },
    { name: `lmcached-tail:${process.pid}`, bufferSize: 1024 * 1024, noopSeconds: 60 },
  );
  for (const vb of vbs) await consumer.stream(vb);
  process.once('SIGINT', () => consumer.close());
  process.once('SIGTERM', () => consumer.close());
}
