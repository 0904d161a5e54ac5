/**
 * Change-stream throughput: (1) a backfill of N items (default 1M) from LMDB to one consumer,
 * (2) live streaming while a load generator writes (memtier_benchmark from $MEMTIER or PATH,
 * else bench/load.ts). `npm run bench:dcp [-- items]`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { DcpConsumer } from '../lib/dcp/consumer.js';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest } from '../protocol/request-encoder.js';
import { requestOnce } from '../lib/client/one-request.js';
import { runLoad } from './load.js';
import { startLmcached } from './servers.js';

const items = Number(process.argv[2] ?? 1_000_000);
const liveSeconds = Number(process.env.BENCH_SECONDS ?? 10);

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** vBucket 0's high seqno, from GET_ALL_VB_SEQNOS. */
async function highSeqno(port: number): Promise<number> {
  const { value: body } = await requestOnce('127.0.0.1', port, encodeRequest({ opcode: OP.GET_ALL_VB_SEQNOS }));
  return Number(body.readBigUInt64BE(2));
}

async function main(): Promise<void> {
  console.log(`# DCP throughput — ${cpus().length} cores, ${new Date().toISOString()}`);
  const server = await startLmcached('memory');
  try {
    await runLoad({ host: '127.0.0.1', port: server.port, connections: 8, seconds: 3600, setRatio: 1, keyMaximum: items, valueSize: 100, pipeline: 32, prefill: true });
    await new Promise((r) => setTimeout(r, 1000)); // the last batches commit

    let received = 0;
    let backfillDone: () => void = () => {};
    const finished = new Promise<void>((r) => (backfillDone = r));
    const backfill = await DcpConsumer.connect('127.0.0.1', server.port, { mutation: () => void received++, streamEnd: () => backfillDone() }, { name: 'bench-backfill', bufferSize: 10 * 1024 * 1024 });
    const t0 = process.hrtime.bigint();
    await backfill.stream(0, undefined, BigInt(items));
    await finished;
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    backfill.close();
    console.log(`\n| backfill | items | seconds | items/s |\n|---|---:|---:|---:|\n| ${items} items of 100 B from LMDB | ${received} | ${s.toFixed(2)} | ${Math.round(received / s)} |`);

    // Live: a follower that has caught up with the history counts what arrives while a load
    // generator writes. The load generator runs as a child process (memtier) or async in this
    // process, so the consumer keeps reading meanwhile.
    let live = 0;
    let lastSeqno = 0;
    const follower = await DcpConsumer.connect('127.0.0.1', server.port, { mutation: (_vb, seqno) => { live++; lastSeqno = seqno; } }, { name: 'bench-live', bufferSize: 10 * 1024 * 1024 });
    await follower.stream(0);
    while (lastSeqno < items) await new Promise((r) => setTimeout(r, 50));
    live = 0;
    const memtier = process.env.MEMTIER ?? which('memtier_benchmark');
    const l0 = process.hrtime.bigint();
    let tool: string;
    if (memtier) {
      const args = ['-s', '127.0.0.1', '-p', String(server.port), '--protocol=memcache_binary', '--threads=1', '--clients=50', '-d', '100', `--key-maximum=${items}`, '--ratio=1:0', `--test-time=${liveSeconds}`, '--hide-histogram'];
      tool = `memtier_benchmark -s 127.0.0.1 -p PORT --protocol=memcache_binary --threads=1 --clients=50 -d 100 --key-maximum=${items} --ratio=1:0 --test-time=${liveSeconds}`;
      await new Promise<void>((res, rej) => {
        const p = spawn(memtier, args, { stdio: 'ignore' });
        p.once('exit', () => res());
        p.once('error', rej);
      });
    } else {
      tool = `bench/load.ts, 50 connections, sets only, ${liveSeconds} s`;
      await runLoad({ host: '127.0.0.1', port: server.port, connections: 50, seconds: liveSeconds, setRatio: 1, keyMaximum: items, valueSize: 100, pipeline: 1 });
    }
    const writeSeconds = Number(process.hrtime.bigint() - l0) / 1e9;
    const duringWrites = live;
    const lagAtEnd = await highSeqno(server.port) - lastSeqno;
    follower.close();
    console.log(`\n| live | seconds | items streamed while writing | items/s | behind at the end (seqnos) |\n|---|---:|---:|---:|---:|\n| ${tool} | ${writeSeconds.toFixed(2)} | ${duringWrites} | ${Math.round(duringWrites / writeSeconds)} | ${lagAtEnd} |`);
  } finally {
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
