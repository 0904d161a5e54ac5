/**
 * Wires store, engine, warmup and server together. The server listens before warmup so that
 * clients get ETMPFAIL (not a refused connection) until traffic is enabled. Shutdown goes in
 * order: stop accepting, answer what was sent, commit, mark the shutdown clean, close.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Engine } from './engine/engine.js';
import { LEGACY_WARMUP_STEPS, WARMUP_STEPS, Warmup, markCleanShutdown } from './engine/warmup.js';
import { log } from './log.js';
import { newServerContext } from './server/context.js';
import { Server } from './server/server.js';
import type { Settings } from './settings.js';
import { Store } from './store/store.js';
import { VERSION } from './version.js';
import { crashHooksFromEnv } from './test-hooks.js';
import { Purger } from './engine/purger.js';
import { HelperThreadPriority } from './helper-threads.js';

export interface App {
  address: AddressInfo;
  warmup: Promise<void>;
  stop(): Promise<void>;
}

export async function startApp(settings: Settings): Promise<App> {
  mkdirSync(settings.dataDir, { recursive: true });
  const hooks = crashHooksFromEnv(process.env);
  const store = new Store({ path: settings.dataDir });
  const engine = new Engine(store, {
    vbuckets: settings.vbuckets,
    maxValueLength: settings.maxItemSize,
    cacheBytes: settings.memoryLimitMb * 1024 * 1024,
    pacing: { intervalMs: settings.flushIntervalMs, holdMs: hooks.flushHoldMs },
  });
  if (hooks.crashAfterExpiries > 0) {
    engine.onWarmupExpiriesPersisted = (total) => {
      if (total >= hooks.crashAfterExpiries) hooks.crash(`${total} warmup expiries persisted`);
    };
  }
  const warmup = new Warmup(store, engine, hooks.legacyWarmupOrder ? LEGACY_WARMUP_STEPS : WARMUP_STEPS, async (step) => {
    if (step === hooks.crashAfterStep) hooks.crash(`after warmup step ${step}`);
    if (hooks.warmupStepDelayMs > 0) await new Promise((r) => setTimeout(r, hooks.warmupStepDelayMs));
  });
  if (hooks.legacyWarmupOrder) log.warn('warmup: LMCACHED_WARMUP_LEGACY_ORDER=1, failover entries reach disk only at the end (test hook)');
  const ctx = newServerContext({ engine, warmup, store, settings, version: VERSION });
  const server = new Server(ctx);
  const address = await server.listen();
  log.info(`lmcached ${VERSION} listening on ${address.address}:${address.port} (ack=${settings.ack})`);
  const purger = new Purger(store, engine, { maxAge: settings.purgeAge, interval: settings.purgeInterval });
  const helpers = new HelperThreadPriority(settings.helperNice);
  const warmupDone = warmup.run().then(() => {
    purger.start();
    helpers.start();
  }).catch((err: unknown) => {
    warmup.state = 'failed';
    log.error(`warmup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  });
  let stopping: Promise<void> | null = null;
  return {
    address,
    warmup: warmupDone,
    stop(): Promise<void> {
      stopping ??= (async () => {
        server.quiesce();
        helpers.stop();
        await purger.stop();
        // Commit everything first: --ack=persist replies are held until their commit.
        await engine.settle();
        await server.close();
        engine.close();
        if (warmup.state === 'done') {
          await engine.settle();
          await markCleanShutdown(engine);
        } else {
          log.warn('shutdown during warmup: not marked clean');
        }
        await store.flushed();
        await store.close();
        log.info('shutdown complete');
      })();
      return stopping;
    },
  };
}
