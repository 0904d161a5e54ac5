/**
 * Wires store, engine, warmup and server together. The server listens before warmup so that
 * clients get ETMPFAIL (not a refused connection) until traffic is enabled. Shutdown goes in
 * order: stop accepting, answer what was sent, commit, mark the shutdown clean, close.
 */
import type { AddressInfo } from 'node:net';
import { Engine } from './engine/engine.js';
import { ACTIVE_ROLE, Warmup, markCleanShutdown } from './engine/warmup.js';
import { VBucketState } from './engine/vbucket.js';
import { Replicator } from './replication/replicator.js';
import { loadSecurity, watchSecurity } from './security.js';
import { log } from './log.js';
import { newServerContext } from './server/context.js';
import { Server } from './server/server.js';
import type { Settings } from './settings.js';
import { LmdbStore } from './store/lmdb-store.js';
import { DataFormatError } from './store/store.js';
import { EXIT, StartupError, prepareDataDir } from './startup.js';
import { VERSION } from './version.js';
import { testHooksFromEnv, type TestHooks } from './test-hooks.js';
import { Purger } from './engine/purger.js';
import { IdleHeapCompaction } from './idle-compaction.js';
import { youngGenerationCap as youngCap } from './young-generation-cap.js';
import { HelperThreadPriority } from './helper-threads.js';
import { WriterPolicy } from './writer-thread-policy.js';
import { memoryAckMustWait } from './server/memory-ack.js';

/** How long startup waits for the store's threads to start (tens of milliseconds). */
const HELPER_START_WAIT_MS = 10_000;

/** How long a failed warmup waits for the store to close before the process exits. */
const FAILED_START_CLOSE_WAIT_MS = 5_000;

/** How long shutdown waits for outstanding writes to commit; past it (a disk that stays full)
 * the process ends without marking the shutdown clean, so the next start adds failover entries. */
export const SHUTDOWN_COMMIT_WAIT_MS = 10_000;

export interface App {
  address: AddressInfo;
  warmup: Promise<void>;
  stop(): Promise<void>;
}

/** Opens the store, or says in one line why it cannot. */
function openStore(dir: string, hooks: TestHooks): LmdbStore {
  try {
    return new LmdbStore({ path: dir, applyHoldMs: hooks.applyHoldMs, commitReplyDelayMs: hooks.commitReplyDelayMs });
  } catch (err) {
    if (err instanceof DataFormatError) throw new StartupError(EXIT.dataError, err.message);
    throw new StartupError(EXIT.ioError, `${dir}: cannot open the data files (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Starts everything; a StartupError says why it could not (one line, an exit code). */
export async function startApp(settings: Settings): Promise<App> {
  prepareDataDir(settings.dataDir);
  // Started already where cli.ts runs the server (young-generation-start.ts); again here (a
  // no-op then) for any other caller: warmup's allocations would grow the new space past it.
  youngCap.start();
  // The one place test hooks are read; with no LMCACHED_* test variable set they do nothing.
  const testHooks = testHooksFromEnv(process.env);
  if (testHooks.active) log.warn(`test hooks set: ${testHooks.description}`);
  // Before the store: a startup failure after it must first close it (below).
  const security = loadSecurity(settings);
  // Before the store: the shell it starts for `chrt` must not inherit the store's files. Lagging
  // is as --ack=memory judges it (its replies start to wait for commits); the log thread is eased
  // under --ack=persist only (writer-thread-policy.ts).
  const writerPolicy = settings.helperPolicy === 'batch' ? new WriterPolicy(() => store.writeThreadIds(), () => memoryAckMustWait(engine.commits), () => engine.commits.applyWanted, () => ctx.counters.writer_policy_switches++, settings.ack === 'persist') : null;
  const store = openStore(settings.dataDir, testHooks);
  // The store's threads reset the cap's growth factor as they start (their isolates): set it
  // again once they have, before warmup allocates. Only memory is at stake, so not forever.
  if (await store.threadsStarted(HELPER_START_WAIT_MS)) youngCap.reapply();
  else log.warn(`the store's threads did not start within ${HELPER_START_WAIT_MS} ms; the young generation may grow past its cap`);
  const engine = new Engine(store, {
    vbuckets: settings.vbuckets,
    maxValueLength: settings.maxItemSize,
    cacheBytes: settings.memoryLimitMb * 1024 * 1024,
    flushIntervalMs: settings.flushIntervalMs,
    testHooks,
  });
  const replicaOf = settings.replicaOf;
  const role = replicaOf === null ? ACTIVE_ROLE : { freshState: VBucketState.Replica, demoteActive: settings.replicaForce };
  const warmup = new Warmup(store, engine, testHooks, role);
  const auth = security.replicaAuth;
  const tls = security.replicaTls;
  const ctx = newServerContext({ engine, warmup, settings, version: VERSION, sasl: security.sasl, asciiUsers: security.ascii });
  const server = new Server(ctx, testHooks.streamReads, security.tls);
  ctx.tlsLoadedAt = security.tls?.loadedAt ?? 0;
  watchSecurity(settings, ctx, (config) => server.reloadTls(config));
  const address = await server.listen().catch(async (err: unknown) => {
    // Closed before the process exits: an exit while the store's threads are inside LMDB (the
    // commit log's replay, opening the databases) aborted the process now and then (SIGABRT
    // instead of exit 71, 1 run in 30 under load).
    await store.close().catch(() => undefined);
    // memcached's words and exit code.
    throw new StartupError(EXIT.listen, `failed to listen on one of interface(s) ${settings.listen}: ${listenError(err)}`);
  });
  log.info(`lmcached ${VERSION} listening on ${address.address}:${address.port}${security.tls === null ? '' : ' (TLS)'} (ack=${settings.ack})`);
  // The DCP connection name tells the active where this node serves: after a takeover the
  // active becomes this node's replica and follows it there.
  const replicationName = `replication:${address.address}:${address.port}`;
  ctx.selfAddress = `${address.address}:${address.port}`;
  let replicator = replicaOf === null ? null : new Replicator(engine, { ...replicaOf, force: settings.replicaForce, name: replicationName, auth, tls });
  ctx.replicator = replicator;
  ctx.takeoverDone = (vbid, consumerName) => {
    const m = /^replication:(.+):(\d+)$/.exec(consumerName);
    if (m === null) return log.warn(`vb ${vbid} handed to ${consumerName}, which is not an lmcached replica; it stays dead here`);
    const source = `${m[1]}:${m[2]}`;
    if (replicator !== null && replicator.source !== source) return log.error(`vb ${vbid} handed to ${source}, but this node follows ${replicator.source}; it stays dead here`);
    void engine.vbuckets.setState(vbid, VBucketState.Replica).then(() => {
      if (replicator === null) {
        replicator = new Replicator(engine, { host: m[1], port: Number(m[2]), force: false, name: replicationName, auth, tls });
        ctx.replicator = replicator;
        replicator.start();
      } else {
        replicator.follow(vbid);
      }
      log.info(`vb ${vbid} is a replica of ${source} now`);
    });
  };
  const purger = new Purger(store, engine, { maxAge: settings.purgeAge, interval: settings.purgeInterval });
  const helpers = new HelperThreadPriority(settings.helperNice, () => store.writeThreadIds());
  const compaction = new IdleHeapCompaction({
    activity: () => ctx.counters.bytes_read + ctx.counters.bytes_written,
    // Not LMDB's progress: a batch's writes leave the V8 heap when it commits (rows of numbers
    // and arena chunks wait for LMDB), and after a load of new keys LMDB takes tens of seconds.
    writesPending: () => {
      const st = engine.storageStats();
      return st.backlog > 0 || st.unpersistedBytes > 0;
    },
    compacted: () => ctx.counters.heap_compactions++,
  });
  const warmupDone = warmup.run().then(() => {
    purger.start();
    helpers.start();
    writerPolicy?.start();
    compaction.start();
    logRoles(engine, replicator);
    replicator?.start();
  }).catch((err: unknown) => {
    warmup.state = 'failed';
    // Data this build cannot read is the operator's to see in one line; anything else is a bug.
    const reason = err instanceof DataFormatError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    log.error(`warmup failed: ${settings.dataDir}: ${reason}`);
    // The store's threads closed first, as on a listen failure; a close that hangs does not.
    const exit = (): never => process.exit(err instanceof DataFormatError ? EXIT.dataError : 1);
    setTimeout(exit, FAILED_START_CLOSE_WAIT_MS);
    void store.close().catch(() => undefined).then(exit);
  });
  let stopping: Promise<void> | null = null;
  return {
    address,
    warmup: warmupDone,
    stop(): Promise<void> {
      stopping ??= (async () => {
        server.quiesce();
        replicator?.stop();
        helpers.stop();
        compaction.stop();
        youngCap.stop();
        await purger.stop();
        // The last commits must not wait for a CPU behind other processes (writer-thread-policy.ts).
        await writerPolicy?.stop();
        // Commit everything first: --ack=persist replies are held until their commit.
        const committed = await settleWithin(engine, SHUTDOWN_COMMIT_WAIT_MS);
        await server.close();
        engine.close();
        if (!committed) {
          log.error(`shutdown: writes still not committed after ${SHUTDOWN_COMMIT_WAIT_MS} ms (${engine.storageStats().lastDiskError}); not marked clean`);
        } else if (warmup.state === 'done') {
          await markCleanShutdown(engine);
        } else {
          log.warn('shutdown during warmup: not marked clean');
        }
        if (committed) await store.flushed();
        await store.close();
        log.info('shutdown complete');
      })();
      return stopping;
    },
  };
}

/** Roles live on disk: says which vBuckets are replicas and whether they have a source, and
 * names active vBuckets that --replica-of leaves active (a promoted node restarted with a stale
 * flag keeps its writes). */
function logRoles(engine: Engine, replicator: Replicator | null): void {
  const vbs = engine.vbuckets.all();
  const replicas = vbs.filter((vb) => vb.state === VBucketState.Replica).length;
  const actives = vbs.filter((vb) => vb.state === VBucketState.Active).length;
  if (replicator !== null && actives > 0) log.warn(`replication: ${actives} vBuckets are active on disk and stay active (--replica-force makes them replicas of ${replicator.source})`);
  if (replicator === null && replicas > 0) log.warn(`${replicas} replica vBuckets and no --replica-of: they are not fed`);
  if (replicator !== null) log.info(`replication: ${replicas} replica vBuckets follow ${replicator.source}`);
}

/** Whether everything written so far committed within `ms`. */
async function settleWithin(engine: Engine, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = await Promise.race([engine.settle().then(() => true), timeout]);
  clearTimeout(timer);
  return settled;
}

/** "Address already in use", as memcached words it, from a listen error. */
function listenError(err: unknown): string {
  const c: unknown = err instanceof Error ? Reflect.get(err, 'code') : undefined;
  if (c === 'EADDRINUSE') return 'Address already in use';
  if (c === 'EADDRNOTAVAIL') return 'Cannot assign requested address';
  if (c === 'EACCES') return 'Permission denied';
  return err instanceof Error ? err.message : String(err);
}
