/**
 * `npm run bench:snapshot`: what a long-held read snapshot costs in file growth. A DCP disk
 * snapshot is read from one LMDB read transaction held for the whole backfill; while it is
 * open, LMDB cannot reuse the pages later commits free, so data.mdb grows under overwrites.
 * Two runs on the same data set and the same overwrite load: one with no reader, one with a
 * consumer whose tiny flow-control window keeps its backfill (and so its snapshot) open for the
 * whole load, and one whose consumer stops acknowledging (its producer stalls). Reports
 * data.mdb's size before and after each.
 *
 * Environment: BENCH_ITEMS (200000), BENCH_VALUE (100), BENCH_SECONDS (20).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { DcpConsumer } from '../lib/dcp/consumer.js';
import { runLoad } from './load.js';
import { startLmcached } from './servers.js';

const items = Number(process.env.BENCH_ITEMS ?? 200_000);
const valueSize = Number(process.env.BENCH_VALUE ?? 100);
const seconds = Number(process.env.BENCH_SECONDS ?? 20);

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

type Reader = 'none' | 'slow' | 'stalled';

async function run(kind: Reader): Promise<void> {
  const server = await startLmcached('memory', undefined, ['--vbuckets', '1']);
  try {
    const file = join(server.dataDir as string, 'data.mdb');
    await runLoad({ host: '127.0.0.1', port: server.port, connections: 4, seconds: 3600, setRatio: 1, keyMaximum: items, valueSize, pipeline: 32, prefill: true });
    await new Promise((r) => setTimeout(r, 500));
    const before = statSync(file).size;
    let received = 0;
    const reader = kind !== 'none'
      ? await DcpConsumer.connect('127.0.0.1', server.port, { mutation: () => void received++ }, { name: 'slow-reader', bufferSize: 2048, mayAcknowledge: () => kind === 'slow' || received < 100 })
      : null;
    if (reader) await reader.stream(0);
    const load = await runLoad({ host: '127.0.0.1', port: server.port, connections: 10, seconds, setRatio: 1, keyMaximum: items, valueSize, pipeline: 1 });
    const after = statSync(file).size;
    reader?.close();
    const who = kind === 'none' ? 'no' : `${kind === 'slow' ? 'a slow reader' : 'a reader that stops acknowledging'} (${received} of ${items} items read by the end)`;
    console.log(`| ${who} | ${Math.round(load.ops)} | ${mb(before)} MB | ${mb(after)} MB | ${mb(after - before)} MB |`);
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  console.log(`# read snapshot held during overwrites — ${cpus().length} cores, ${new Date().toISOString()}`);
  console.log(`\n${items} items of ${valueSize} bytes, then ${seconds} s of overwrites (10 connections of SETs over the same keys)\n`);
  console.log('| reader | overwrites | data.mdb before | after | growth |');
  console.log('|---|---:|---:|---:|---:|');
  await run('none');
  await run('slow');
  await run('stalled');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
