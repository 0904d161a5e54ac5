/**
 * `npm run bench:replication`: an active and its replica (--replica-of), a write load on the
 * active, and two figures per ack mode: replication throughput (items per second the replica
 * applied while the load ran, next to the active's write rate) and lag (from the active's
 * acknowledgement of a probe write to the replica applying it, seen on the replica's own
 * change stream, which emits an item as it is applied). Then the replica's resync time for
 * a vBucket of BENCH_RESYNC_ITEMS items (a full copy, what a rollback without a rollback point
 * costs).
 *
 * Environment: BENCH_SECONDS (10), BENCH_CLIENTS (20), BENCH_KEYS (100000), BENCH_VALUE (100),
 * BENCH_RESYNC_ITEMS (1000000; 0 skips), BENCH_ACKS ("memory persist").
 */
import { cpus } from 'node:os';
import net from 'node:net';
import { DcpConsumer } from '../lib/dcp/consumer.js';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest, storeExtras } from '../protocol/request-encoder.js';
import { Framer, PEER_LIMITS } from '../protocol/framer.js';
import { runLoad } from './load.js';
import { startLmcached, type RunningServer } from './servers.js';
import { requestOnce } from '../lib/client/one-request.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const clients = Number(process.env.BENCH_CLIENTS ?? 20);
const keys = Number(process.env.BENCH_KEYS ?? 100_000);
const valueSize = Number(process.env.BENCH_VALUE ?? 100);
const resyncItems = Number(process.env.BENCH_RESYNC_ITEMS ?? 1_000_000);
const acks = (process.env.BENCH_ACKS ?? 'memory persist').split(' ').filter((a): a is 'memory' | 'persist' => a === 'memory' || a === 'persist');

/** vBucket 0's high seqno (GET_ALL_VB_SEQNOS: vbid u16, seqno u64 per vBucket). */
async function highSeqno(port: number): Promise<number> {
  const r = await requestOnce('127.0.0.1', port, encodeRequest({ opcode: OP.GET_ALL_VB_SEQNOS }));
  return r.value.length >= 10 ? Number(r.value.readBigUInt64BE(2)) : 0;
}

async function until(cond: () => Promise<boolean>, limitMs = 600_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Writes a probe key every 10 ms on the active and times each one from its acknowledgement to
 * its arrival on the replica's change stream (negative: the replica had it before the client's
 * acknowledgement, as with --ack=persist, where the ack waits for the active's commit). */
async function probeLag(active: number, replica: number, stopAt: number): Promise<number[]> {
  const ackedAt = new Map<string, bigint>();
  const arrivedAt = new Map<string, bigint>();
  const watch = await DcpConsumer.connect('127.0.0.1', replica, {
    mutation: (_vb, _seqno, key) => {
      if (key.toString().startsWith('probe-')) arrivedAt.set(key.toString(), process.hrtime.bigint());
    },
  }, { name: 'bench-lag' });
  // The replica answers ETMPFAIL while its own stream for the vBucket is still being set up.
  for (let tries = 0; ; tries++) {
    try {
      await watch.stream(0, { vbuuid: 0n, seqno: 0, snapStart: 0, snapEnd: 0 });
      break;
    } catch (err) {
      if (tries >= 100 || !String(err).includes('ETMPFAIL')) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const socket = net.connect(active, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise((r) => socket.once('connect', r));
  let pending: (() => void) | null = null;
  const framer = new Framer({ frame: () => (pending?.(), true), oversized: () => false, fault: () => socket.destroy() }, PEER_LIMITS);
  socket.on('data', (d: Buffer) => framer.push(d));
  for (let n = 0; Date.now() < stopAt; n++) {
    const key = `probe-${n}`;
    await new Promise<void>((resolve) => {
      pending = () => {
        ackedAt.set(key, process.hrtime.bigint());
        resolve();
      };
      socket.write(encodeRequest({ opcode: OP.SET, key, extras: storeExtras(0, 0), value: 'p' }));
    });
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 500));
  socket.destroy();
  watch.close();
  const lags: number[] = [];
  for (const [key, t0] of ackedAt) {
    const t1 = arrivedAt.get(key);
    if (t1 !== undefined) lags.push(Number(t1 - t0) / 1e6);
  }
  return lags.sort((a, b) => a - b);
}

async function measure(ack: 'memory' | 'persist'): Promise<void> {
  const active = await startLmcached(ack, undefined, ['--vbuckets', '1']);
  let replica: RunningServer | null = null;
  try {
    // The probe's arrival is seen on the replica's own change stream: that second hop sends at
    // once (--dcp-batch-ms 0), so the lag measured is the active's batching and the replica's apply.
    replica = await startLmcached(ack, undefined, ['--vbuckets', '1', '--replica-of', `127.0.0.1:${active.port}`, '--dcp-batch-ms', '0']);
    const startHigh = await highSeqno(replica.port);
    const t0 = Date.now();
    const stopAt = t0 + seconds * 1000;
    const [load, lags] = await Promise.all([
      runLoad({ host: '127.0.0.1', port: active.port, connections: clients, seconds, setRatio: 1, keyMaximum: keys, valueSize, pipeline: 1 }),
      probeLag(active.port, replica.port, stopAt),
    ]);
    const appliedDuring = (await highSeqno(replica.port)) - startHigh;
    const elapsed = (Date.now() - t0) / 1000;
    const activeHigh = await highSeqno(active.port);
    const t1 = Date.now();
    await until(async () => (await highSeqno(replica!.port)) >= activeHigh);
    const drainMs = Date.now() - t1;
    console.log(`| ${ack} | ${Math.round(load.opsPerSec)} | ${Math.round(appliedDuring / elapsed)} | ${drainMs} | ${lags.length} | ${percentile(lags, 0.5).toFixed(2)} | ${percentile(lags, 0.99).toFixed(2)} | ${percentile(lags, 1).toFixed(2)} |`);
  } finally {
    await replica?.stop();
    await active.stop();
  }
}

/** A replica that must copy a whole vBucket of `items` items: time and bytes on the wire. */
async function resync(items: number): Promise<void> {
  const active = await startLmcached('memory', undefined, ['--vbuckets', '1']);
  let replica: RunningServer | null = null;
  try {
    await runLoad({ host: '127.0.0.1', port: active.port, connections: 4, seconds: 3600, setRatio: 1, keyMaximum: items, valueSize, pipeline: 32, prefill: true });
    const high = await highSeqno(active.port);
    const t0 = Date.now();
    replica = await startLmcached('memory', undefined, ['--vbuckets', '1', '--replica-of', `127.0.0.1:${active.port}`]);
    await until(async () => (await highSeqno(replica!.port)) >= high);
    const ms = Date.now() - t0;
    const bytes = items * (24 + 31 + `memtier-${items}`.length + valueSize);
    console.log(`\nresync of ${items} items (${valueSize}-byte values): ${(ms / 1000).toFixed(1)} s from the replica's start to its last item, ${Math.round(items / (ms / 1000))} items/s, about ${(bytes / 1e6).toFixed(0)} MB of DCP messages`);
  } finally {
    await replica?.stop();
    await active.stop();
  }
}

async function main(): Promise<void> {
  console.log(`# replication — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}`);
  console.log(`\nload: bench/load.ts, ${clients} connections of SETs (${valueSize}-byte values over ${keys} keys) for ${seconds} s on the active; a probe SET every 10 ms timed to its arrival on the replica's change stream\n`);
  console.log('| ack | active writes/s | replica applied/s (during load) | replica catch-up after load, ms | probes | lag p50 ms | lag p99 ms | lag max ms |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const ack of acks) await measure(ack);
  if (resyncItems > 0) await resync(resyncItems);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
