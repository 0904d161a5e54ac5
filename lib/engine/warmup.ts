/**
 * Warmup as one ordered list of named steps (kv_engine warmup.cc's state machine, flattened).
 *
 * The one rule everything hangs on: after an unclean shutdown every active vBucket gets a new
 * failover entry, and that entry must be on disk before ANY new seqno is issued — by clients or
 * by warmup itself, which expires items it finds expired. So `persistVBState` comes directly
 * after `createVBuckets`, and traffic and the item scan come after it.
 *
 * The item scan runs after traffic is enabled, so start-up time does not grow with the data
 * set: it reads one LMDB snapshot taken before traffic started, so counts are exact (items that
 * existed at start + every change since), and it expires an item only if no client changed it.
 */
import { log } from '../log.js';
import { itemKeyVbid } from '../store/key-codec.js';
import { recordExpiry, recordSeqno, recordValueLength } from '../store/record.js';
import { DataFormatError, type Store } from '../store/store.js';
import { NO_TEST_HOOKS, type TestHooks } from '../test-hooks.js';
import type { Engine } from './engine.js';
import { isExpired, nowSeconds } from './expiry.js';
import { FailoverTable } from './failover-table.js';
import { VBucket, VBucketState } from './vbucket.js';

/** The data directory format this build writes. 2: item records may be format 2 (revision
 * seqnos) and vBucket states may hold maxDeletedRevSeqno. 3: the directory may hold commit-log
 * segments (commit-<n>.log) with writes LMDB does not have yet, so a build that does not
 * replay them must not open it. 4: a segment's frames may carry vBucket states as progress
 * rows (store.ts, VBStateProgress), which a format-3 build would not apply. 5: the seqno index
 * may hold entries of items written again since (their removal waits, stale-seqnos.ts, and a
 * crash can leave them for a sweep), which readers skip; a format-4 build would keep them for
 * good. An older directory is read as it is (format-3 frames replay as they are, a format-4
 * index is one without such entries) and marked 5 by persistVBState. */
export const DATA_FORMAT_VERSION = 5;
const READABLE_FORMATS: readonly number[] = [1, 2, 3, 4, 5];
const META_FORMAT = 'formatVersion';
const META_CLEAN_SHUTDOWN = 'cleanShutdown';

export interface WarmupContext {
  store: Store;
  engine: Engine;
  /** Set by `initialize`. */
  fresh: boolean;
  unclean: boolean;
  itemsScanned: number;
  itemsExpired: number;
  /** Failed attempts to persist the vBucket states (a full disk). */
  persistFailures: number;
  /** Items scanned between progress log lines. */
  progressEvery: number;
  role: WarmupRole;
}

/** What this node is: the state of the vBuckets of a fresh data directory, and whether active
 * vBuckets found on disk become replicas (an explicit operator choice, --replica-force). */
export interface WarmupRole {
  freshState: VBucketState;
  demoteActive: boolean;
}

export const ACTIVE_ROLE: WarmupRole = { freshState: VBucketState.Active, demoteActive: false };

export interface WarmupStep {
  name: string;
  description: string;
  /** What the step's duration depends on, for operators reading `stats warmup`. */
  expectedDuration: string;
  run(ctx: WarmupContext): void | Promise<void>;
}

/** Back-off between attempts of a step the disk refuses (the commit log's replay, the
 * vBucket states' persist). */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 2000;

const replayCommitLog: WarmupStep = {
  name: 'replayCommitLog',
  description: 'apply to LMDB the committed batches a crash left in the commit log; a torn last frame was never acknowledged and is dropped; a damaged segment is kept aside, not applied',
  expectedDuration: 'proportional to the commit log left behind (empty after a clean shutdown)',
  async run(ctx) {
    for (let delay = RETRY_FIRST_MS, failures = 0; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      const r = await ctx.store.replayReport();
      if (failures === 0) {
        if (r.frames > 0) log.warn(`warmup: commit log: ${r.frames} batches (${r.writes} writes) from ${r.segments} segments replayed`);
        if (r.tornBytes > 0) log.warn(`warmup: commit log: ${r.tornBytes} bytes of an append cut short by the crash dropped (never acknowledged)`);
        if (r.damaged.length > 0) log.error(`warmup: commit log: damaged; the writes from the damage on are lost; kept aside: ${r.damaged.join(', ')}`);
      }
      if (r.error === null) {
        // The apply thread committed the replay; this thread's shared read snapshot may predate
        // it (lmdb-js renews it only after a timer tick), and the next steps read the vBucket
        // states: without this they could give the failover entry the pre-replay high seqno.
        ctx.store.refreshReads();
        return;
      }
      // Nothing is served before this is applied: reads would not see the replayed writes.
      if (failures++ === 0) log.error(`warmup: commit log: cannot apply the replayed batches (${r.error}); retrying`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  },
};

const initialize: WarmupStep = {
  name: 'initialize',
  description: 'check the data format; note whether the last shutdown was clean (persistVBState clears the marker)',
  expectedDuration: 'constant',
  run(ctx) {
    const version = ctx.store.getMeta<number>(META_FORMAT);
    if (version !== undefined && !READABLE_FORMATS.includes(version)) throw new DataFormatError(`data format ${String(version)} is not one this build reads (${READABLE_FORMATS.join(', ')})`);
    ctx.fresh = version === undefined;
    ctx.unclean = !ctx.fresh && ctx.store.getMeta<boolean>(META_CLEAN_SHUTDOWN) !== true;
    ctx.engine.reloadMeta(ctx.store);
  },
};

const createVBuckets: WarmupStep = {
  name: 'createVBuckets',
  description: 'load vBucket states; after an unclean shutdown give each active vBucket a new failover entry',
  expectedDuration: 'proportional to the number of vBuckets',
  run(ctx) {
    const states = ctx.store.getVBStates();
    const engine = ctx.engine;
    let created = 0;
    let demoted = 0;
    for (let vbid = 0; vbid < engine.vbuckets.count; vbid++) {
      const rec = states.get(vbid);
      if (rec === undefined) {
        // Only a fresh data directory creates vBuckets; a deleted one stays deleted.
        if (ctx.fresh) {
          const vb = new VBucket(vbid, FailoverTable.fresh());
          vb.state = ctx.role.freshState;
          engine.vbuckets.install(vb);
        }
        continue;
      }
      const vb = VBucket.fromRecord(vbid, rec);
      engine.observeCas(rec.maxCas);
      if (vb.state === VBucketState.Active && ctx.role.demoteActive) {
        // Its history is reconciled with the active's by the stream's rollback rules.
        vb.state = VBucketState.Replica;
        demoted++;
      }
      if (ctx.unclean && vb.state === VBucketState.Active) {
        // Seqnos above what was persisted may have been seen by others and are now lost:
        // start a new branch at the last seqno that is certainly on disk.
        const snapshotWhole = vb.persistedHighSeqno >= vb.snapEnd;
        vb.failovers.createEntry(snapshotWhole ? vb.persistedHighSeqno : vb.snapStart);
        created++;
      }
      engine.vbuckets.install(vb);
    }
    if (ctx.unclean) log.warn(`warmup: unclean shutdown detected; ${created} new failover entries`);
    if (demoted > 0) log.warn(`warmup: ${demoted} active vBuckets made replicas (--replica-force)`);
  },
};

const persistVBState: WarmupStep = {
  name: 'persistVBState',
  description: 'write every vBucket state, new failover entries included, with the clean-shutdown marker cleared, and wait for the sync; on a full disk serve reads meanwhile and retry',
  expectedDuration: 'one synced commit (until the disk takes it)',
  async run(ctx) {
    // The marker is cleared in the same transaction: a crash before it commits issued no
    // seqno, and from the commit on any crash is an unclean shutdown.
    const meta = new Map<string, unknown>([[META_CLEAN_SHUTDOWN, false], [META_FORMAT, DATA_FORMAT_VERSION]]);
    for (let delay = RETRY_FIRST_MS, failures = 0; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      try {
        await ctx.engine.vbuckets.persistStates(meta);
        if (failures > 0) log.warn(`warmup: vBucket states persisted after ${failures} failed attempts; writes enabled`);
        return;
      } catch (err) {
        if (err instanceof DataFormatError) throw err;
        if (failures++ === 0) {
          // No seqno may be issued until this commits; reads issue none.
          ctx.engine.vbuckets.enableReads();
          log.error(`warmup: cannot persist vBucket states (${err instanceof Error ? err.message : String(err)}); serving reads only, retrying`);
        }
        ctx.persistFailures = failures;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  },
};

const enableTraffic: WarmupStep = {
  name: 'enableTraffic',
  description: 'serve item commands (ETMPFAIL before this)',
  expectedDuration: 'constant',
  run(ctx) {
    ctx.engine.vbuckets.enableTraffic();
  },
};

const scanItems: WarmupStep = {
  name: 'scanItems',
  description: 'count items from a pre-traffic snapshot and expire those found expired (new seqnos), then wait for those to commit',
  expectedDuration: 'proportional to the number of items (runs while traffic is served)',
  async run(ctx) {
    const engine = ctx.engine;
    const perVb = new Map<number, { items: number; bytes: number }>();
    let nextLog = ctx.progressEvery;
    for await (const chunk of ctx.store.scanItemsSnapshot()) {
      const now = nowSeconds();
      for (const { itemKey, record } of chunk) {
        ctx.itemsScanned++;
        if (!engine.isLiveRecord(record)) continue;
        const vbid = itemKeyVbid(itemKey);
        const c = perVb.get(vbid) ?? { items: 0, bytes: 0 };
        c.items++;
        c.bytes += recordValueLength(record);
        perVb.set(vbid, c);
        if (isExpired(recordExpiry(record), now) && engine.expireFromWarmup(itemKey, recordSeqno(record))) ctx.itemsExpired++;
      }
      // Counts go in per chunk, before the next yield, so stats never double count.
      for (const [vbid, c] of perVb) engine.addWarmupCounts(vbid, c.items, c.bytes);
      perVb.clear();
      if (ctx.itemsScanned >= nextLog) {
        log.info(`warmup: scanned ${ctx.itemsScanned} items, expired ${ctx.itemsExpired}`);
        nextLog += ctx.progressEvery;
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    await engine.settle();
  },
};

const complete: WarmupStep = {
  name: 'complete',
  description: 'warmup done',
  expectedDuration: 'constant',
  run() {},
};

/** The order. The commit log's batches reach LMDB before anything reads it (the vBucket
 * states they carry, above all). persistVBState directly follows createVBuckets: nothing that can issue a seqno
 * (client traffic, warmup's expiries) runs before the new failover entries are on disk. */
export const WARMUP_STEPS: readonly WarmupStep[] = [replayCommitLog, initialize, createVBuckets, persistVBState, enableTraffic, scanItems, complete];

export interface StepRecord {
  name: string;
  ms: number;
}

/** Runs the steps in order, logging and timing each; `stats warmup` reads its progress. */
export class Warmup {
  readonly ctx: WarmupContext;
  readonly done: StepRecord[] = [];
  current: string | null = null;
  state: 'pending' | 'running' | 'done' | 'failed' = 'pending';
  readonly startedAt = Date.now();
  trafficEnabledAfterMs = -1;
  completedAfterMs = -1;

  readonly steps: readonly WarmupStep[];

  constructor(
    store: Store,
    engine: Engine,
    private readonly hooks: TestHooks = NO_TEST_HOOKS,
    role: WarmupRole = ACTIVE_ROLE,
  ) {
    this.steps = hooks.warmupOrder(WARMUP_STEPS);
    this.ctx = { store, engine, fresh: false, unclean: false, itemsScanned: 0, itemsExpired: 0, persistFailures: 0, progressEvery: 100_000, role };
  }

  async run(): Promise<void> {
    this.state = 'running';
    for (const step of this.steps) {
      this.current = step.name;
      const t0 = Date.now();
      await step.run(this.ctx);
      const ms = Date.now() - t0;
      this.done.push({ name: step.name, ms });
      log.info(`warmup: ${step.name} done in ${ms} ms`);
      if (step === enableTraffic) this.trafficEnabledAfterMs = Date.now() - this.startedAt;
      await this.hooks.afterWarmupStep(step.name);
    }
    this.current = null;
    this.state = 'done';
    this.completedAfterMs = Date.now() - this.startedAt;
    log.info(`warmup: complete in ${this.completedAfterMs} ms (traffic after ${this.trafficEnabledAfterMs} ms); ${this.ctx.itemsScanned} items scanned, ${this.ctx.itemsExpired} expired`);
  }
}

/** Written on a clean shutdown, after the last commit: the next start adds no failover entry. */
export async function markCleanShutdown(engine: Engine): Promise<void> {
  await engine.vbuckets.persistStates(new Map<string, unknown>([[META_CLEAN_SHUTDOWN, true]]));
}
