/**
 * `npm run bench:path`: the request path without the network: framer → dispatch → engine →
 * reply encoding → a socket's Writable, for GET-only, 90% GET / 10% SET and SET-only streams
 * of 100-byte values over 100k keys (overwrites), one request per read as memcaslap sends
 * them, from 50 clients that each wait for their reply before sending again (so a SET load
 * meets the back pressure of replies held for a lagging commit, as real clients do; until
 * 2026-12-02 the bench fed requests regardless, and under SETs its backlog of uncommitted
 * writes grew without bound; BENCH_OPEN_LOOP=1 still measures that way), replies flushed
 * per turn. BENCH_MODES=get,mix,set picks some;
 * BENCH_PROFILE=<file> writes a CPU profile (.cpuprofile, for Chrome's DevTools) of the
 * measured runs alone, without the set-up.
 *
 * Why: on a shared 2-core VM a loopback benchmark varies by a third from run to run, mostly in
 * the kernel; this measures only what lmcached's own code costs, as CPU time of the main thread
 * per request (flusher commits and GC included), so a change to the hot path can be compared
 * in a few seconds. The replies go to a Writable that drops them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest, storeExtras } from '../protocol/request-encoder.js';
import { Engine } from '../lib/engine/engine.js';
import { Warmup } from '../lib/engine/warmup.js';
import { Connection } from '../lib/server/connection.js';
import { newServerContext } from '../lib/server/context.js';
import { parseArgs } from '../lib/settings.js';
import { LmdbStore } from '../lib/store/lmdb-store.js';

const KEYS = Number(process.env.BENCH_KEYS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const PER_TURN = 50;
/** BENCH_OPEN_LOOP=1: the method before 2026-12-02, every client sends each turn whether its
 * reply came or not (for comparing with figures measured that way). */
const OPEN_LOOP = process.env.BENCH_OPEN_LOOP === '1';

/** CPU time of the main thread (user + system), in seconds, from /proc (Node 20 has no
 * per-thread cpuUsage). */
function mainThreadCpu(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A bench client's side of one connection: one request outstanding at a time, as memcaslap
 * and memtier without pipelining send them. The next request waits for the reply: a reply
 * held back for its commit (--ack=memory's back pressure while commits lag) holds the client
 * back, as it does a real one. */
interface BenchClient {
  conn: Connection;
  waiting: boolean;
}

/** Called when any reply arrives (wakes a turn that found every client waiting). */
let replyArrived: (() => void) | null = null;

function discardingSocket(client: { waiting: boolean }): Socket {
  const d = new Duplex({
    read() {},
    write(_chunk, _encoding, cb) {
      // One request outstanding per client, so any reply bytes are its reply.
      client.waiting = false;
      if (replyArrived !== null) replyArrived();
      cb();
    },
    writev(_chunks, cb) {
      client.waiting = false;
      if (replyArrived !== null) replyArrived();
      cb();
    },
  });
  return d as unknown as Socket;
}

const dir = mkdtempSync(join(tmpdir(), 'lmcached-path-'));
const { settings } = parseArgs(['--data-dir', dir]);
const store = new LmdbStore({ path: dir });
const engine = new Engine(store, {
  vbuckets: settings.vbuckets,
  maxValueLength: settings.maxItemSize,
  cacheBytes: settings.memoryLimitMb * 1024 * 1024,
  flushIntervalMs: settings.flushIntervalMs,
});
const warmup = new Warmup(store, engine);
await warmup.run();
const ctx = newServerContext({ engine, warmup, settings, version: 'bench' });
const clients: BenchClient[] = Array.from({ length: PER_TURN }, () => {
  const client = { waiting: false } as BenchClient;
  client.conn = new Connection(discardingSocket(client), ctx);
  return client;
});

const value = Buffer.alloc(100, 0x61);
const key = (i: number): string => `key-${String(i).padStart(10, '0')}`;
const sets = Array.from({ length: KEYS }, (_, i) => encodeRequest({ opcode: OP.SET, key: key(i), extras: storeExtras(0, 0), value }));
const gets = Array.from({ length: KEYS }, (_, i) => encodeRequest({ opcode: OP.GET, key: key(i) }));
// A read buffer reused for every request, as the server's socket reads are.
const readBuffer = Buffer.allocUnsafe(64 * 1024);

function feed(conn: Connection, request: Buffer): void {
  request.copy(readBuffer);
  conn.receive(readBuffer, request.length, true);
}

async function run(seconds: number, prefill: boolean, setsPerTen = 1): Promise<{ ops: number; cpu: number }> {
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const cpu0 = mainThreadCpu();
  const until = Date.now() + seconds * 1000;
  let ops = 0;
  while (prefill ? ops < KEYS : Date.now() < until) {
    let fed = 0;
    for (let c = 0; c < PER_TURN; c++) {
      const client = clients[c];
      if ((client.waiting && !OPEN_LOOP) || (prefill && ops >= KEYS)) continue;
      client.waiting = true;
      if (prefill) {
        feed(client.conn, sets[ops]);
      } else {
        const r = rand();
        feed(client.conn, r % 10 < setsPerTen ? sets[(r >>> 4) % KEYS] : gets[(r >>> 4) % KEYS]);
      }
      ops++;
      fed++;
    }
    // Replies are written at the end of the turn (flush-queue); yielding also runs commits.
    // With every client waiting for a held reply, sleep until one arrives instead of spinning.
    if (fed > 0) await yieldTurn();
    else await new Promise<void>((resolve) => (replyArrived = resolve)).then(() => (replyArrived = null));
  }
  return { ops, cpu: mainThreadCpu() - cpu0 };
}

await run(0, true);
await engine.settle();
await run(1, false);
const MODES = [
  ['get', 'GET only', 0],
  ['mix', '90% GET / 10% SET', 1],
  ['set', 'SET only', 10],
] as const;
const chosen = (process.env.BENCH_MODES ?? 'get,mix,set').split(',');
const perRequest = new Map<string, number>();
const profileFile = process.env.BENCH_PROFILE;
const profiler = profileFile === undefined ? null : new Session();
if (profiler !== null) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
for (const [id, name, setsPerTen] of MODES) {
  if (!chosen.includes(id)) continue;
  const { ops, cpu } = await run(SECONDS, false, setsPerTen);
  await engine.settle();
  perRequest.set(id, (cpu * 1e6) / ops);
  console.log(`request path, ${name}, ${KEYS} keys: ${ops} requests, main thread ${((cpu * 1e6) / ops).toFixed(2)} µs CPU per request`);
}
if (profiler !== null && profileFile !== undefined) {
  const { profile } = await profiler.post('Profiler.stop');
  writeFileSync(profileFile, JSON.stringify(profile));
}
const get = perRequest.get('get');
const set = perRequest.get('set');
if (get !== undefined && set !== undefined) console.log(`a SET costs ${(set / get).toFixed(2)} GETs of main-thread CPU`);
await engine.settle();
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
