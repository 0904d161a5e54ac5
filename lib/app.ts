/**
 * Wires store, engine and server together, and shuts them down in order: stop accepting,
 * finish in-flight work, flush to LMDB, mark the shutdown clean, close.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Engine } from './engine/engine.js';
import { log } from './log.js';
import type { ServerContext } from './server/context.js';
import { Server } from './server/server.js';
import type { Settings } from './settings.js';
import { Store } from './store/store.js';
import { VERSION } from './version.js';

export interface App {
  address: AddressInfo;
  stop(): Promise<void>;
}

export async function startApp(settings: Settings): Promise<App> {
  mkdirSync(settings.dataDir, { recursive: true });
  const store = new Store({ path: settings.dataDir });
  const engine = new Engine(store, {
    vbuckets: settings.vbuckets,
    maxValueLength: settings.maxItemSize,
    pacing: { intervalMs: settings.flushIntervalMs, holdMs: Number(process.env.LMCACHED_FLUSH_DELAY_MS ?? 0) || 0 },
  });
  const started = Date.now();
  engine.loadCounts();
  log.info(`loaded ${engine.stats.curr_items} items from ${settings.dataDir} in ${Date.now() - started} ms`);
  const ctx: ServerContext = {
    engine,
    settings,
    counters: { curr_connections: 0, total_connections: 0, rejected_connections: 0, bytes_read: 0, bytes_written: 0 },
    startedAt: started,
    version: VERSION,
    verbosity: settings.verbosity,
  };
  const server = new Server(ctx);
  const address = await server.listen();
  log.info(`lmcached ${VERSION} listening on ${address.address}:${address.port} (ack=${settings.ack})`);
  let stopping: Promise<void> | null = null;
  return {
    address,
    stop(): Promise<void> {
      stopping ??= (async () => {
        server.quiesce();
        // Commit everything first: --ack=persist replies are held until their commit.
        await engine.settle();
        await server.close();
        engine.close();
        await engine.settle();
        await store.flushed();
        await store.close();
        log.info('shutdown complete');
      })();
      return stopping;
    },
  };
}
