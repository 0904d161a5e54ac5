/**
 * lmcached's own load generator, for machines without memtier or memcaslap: N connections,
 * each with one request in flight (or `pipeline` of them), a get/set mix over a key range,
 * fixed-size values, over the binary protocol or memcached's meta commands. Reports ops/s and
 * latency percentiles.
 */
import net from 'node:net';
import tls from 'node:tls';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest, storeExtras } from '../protocol/request-encoder.js';
import { Framer, PEER_LIMITS, responseStatus } from '../protocol/framer.js';
import { MetaReplyReader } from './meta-replies.js';

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  seconds: number;
  /** Fraction of requests that are SETs. */
  setRatio: number;
  keyMaximum: number;
  valueSize: number;
  pipeline: number;
  /** Issue only SETs over every key once, in order, then stop (a prefill). */
  prefill?: boolean;
  /** Connect over TLS (the server's certificate is not checked: a benchmark, not a client). */
  tls?: boolean;
  /** Speak memcached's meta commands (mg v / ms) instead of the binary protocol. */
  meta?: boolean;
  /** Requests per second over all connections (paced; unset or 0: as fast as answered). */
  rate?: number;
}

export interface LoadResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  hits: number;
  misses: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const value = Buffer.alloc(o.valueSize, 0x78);
  const extras = storeExtras(0, 0);
  const latencies: number[] = [];
  let ops = 0;
  let hits = 0;
  let misses = 0;
  let nextPrefillKey = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + o.seconds * 1000;
  const rate = o.rate ?? 0;
  const startedMs = performance.now();
  let issued = 0;
  /** Milliseconds until pacing allows another request (0: now). */
  const paceWait = (): number => (rate > 0 ? Math.max(0, startedMs + (issued * 1000) / rate - performance.now()) : 0);
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };

  const set = (key: string): Buffer => (o.meta === true ? Buffer.concat([Buffer.from(`ms ${key} ${o.valueSize}\r\n`), value, Buffer.from('\r\n')]) : encodeRequest({ opcode: OP.SET, key, extras, value }));
  const get = (key: string): Buffer => (o.meta === true ? Buffer.from(`mg ${key} v\r\n`) : encodeRequest({ opcode: OP.GET, key }));
  const nextRequest = (): Buffer | null => {
    if (o.prefill) {
      if (nextPrefillKey >= o.keyMaximum) return null;
      return set(`memtier-${nextPrefillKey++}`);
    }
    if (Date.now() >= deadline) return null;
    const key = `memtier-${Math.floor(random() * o.keyMaximum)}`;
    return random() < o.setRatio ? set(key) : get(key);
  };

  await Promise.all(
    Array.from({ length: o.connections }, () => new Promise<void>((resolve, reject) => {
      const socket = o.tls === true ? tls.connect({ port: o.port, host: o.host, rejectUnauthorized: false }) : net.connect(o.port, o.host);
      socket.setNoDelay(true);
      const sentAt: bigint[] = [];
      let inFlight = 0;
      let done = false;
      let paced: NodeJS.Timeout | null = null;
      // Requests issued in one turn go out in one write, as memtier's do: one write per
      // request made the server read ~9 requests per read where memtier gives it ~45.
      const send = (): void => {
        socket.cork();
        try {
          fill();
        } finally {
          socket.uncork();
        }
        if (done && inFlight === 0) socket.end();
      };
      const fill = (): void => {
        while (!done && inFlight < o.pipeline) {
          const wait = paceWait();
          if (wait > 0) {
            paced ??= setTimeout(() => {
              paced = null;
              send();
            }, wait);
            break;
          }
          issued++;
          const r = nextRequest();
          if (!r) {
            done = true;
            break;
          }
          sentAt.push(process.hrtime.bigint());
          inFlight++;
          socket.write(r);
        }
      };
      socket.on(o.tls === true ? 'secureConnect' : 'connect', send);
      const answered = (): void => {
        const t0 = sentAt.shift() as bigint;
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        inFlight--;
        ops++;
      };
      const framer = new Framer(
        {
          frame: (res) => {
            answered();
            if (res.opcode === OP.GET) {
              if (responseStatus(res) === 0) hits++;
              else misses++;
            }
            return true;
          },
          oversized: () => false,
          fault: (reason) => socket.destroy(new Error(`unreadable reply: ${reason}`)),
        },
        PEER_LIMITS,
      );
      const meta = new MetaReplyReader((r) => {
        answered();
        if (r === 'hit') hits++;
        else if (r === 'miss') misses++;
      });
      socket.on('data', (chunk: Buffer) => {
        if (o.meta === true) meta.push(chunk);
        else framer.push(chunk);
        send();
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    })),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const sorted = Float64Array.from(latencies).sort();
  return { ops, seconds, opsPerSec: ops / seconds, hits, misses, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), p999Ms: percentile(sorted, 0.999) };
}
