/**
 * The one seam for test-only machinery: fault injection that proves the warmup order matters
 * (crash after a step, crash after n warmup expiries, the legacy order), an unpersisted tail
 * (flush hold), a pause after each warmup step, and the socket read path to use. Read from LMCACHED_* variables once at start
 * (README lists them). With none set, every hook here does nothing and production code runs as
 * if this file did not exist; app.ts is the only place that reads the environment for them.
 */
import { log } from './log.js';

export interface TestHooks {
  /** True when any hook is set. */
  readonly active: boolean;
  /** What is set, for the log at start-up. */
  readonly description: string;
  /** The warmup steps to run: `steps` itself, or with LMCACHED_WARMUP_LEGACY_ORDER=1 the order
   * before the fix (failover entries reach disk only at the end). */
  warmupOrder<T extends { readonly name: string }>(steps: readonly T[]): readonly T[];
  /** After each warmup step: LMCACHED_CRASH_AFTER_STEP kills the process with SIGKILL after
   * that step; LMCACHED_WARMUP_STEP_DELAY_MS pauses so a test can observe the step. */
  afterWarmupStep(name: string): void | Promise<void>;
  /** LMCACHED_FLUSH_DELAY_MS: hold each flusher batch back this long (an unpersisted tail). */
  readonly flushHoldMs: number;
  /** LMCACHED_APPLY_DELAY_MS: hold committed batches this long before they go from the commit
   * log to LMDB (a crash then leaves them to warmup's replay; reads and DCP meanwhile find them
   * only in memory). */
  readonly applyHoldMs: number;
  /** LMCACHED_COMMIT_REPLY_DELAY_MS: the log thread answers each synced batch this long late, so
   * a batch is certainly in flight (sent, not known committed) for that long. */
  readonly commitReplyDelayMs: number;
  /** After each commit that made warmup expiries durable: LMCACHED_CRASH_AFTER_EXPIRIES kills
   * the process once that many are. */
  warmupExpiriesPersisted(total: number): void;
  /** LMCACHED_STREAM_READS=1: read sockets through the stream path (socket-reader.ts's
   * fallback), to test both paths and compare them. */
  readonly streamReads: boolean;
  /** LMCACHED_RESIDENT_ENTRY_LIMIT: the resident table holds at most this many entries (0: its
   * real limit, 214,748,364), so a test can reach the limit. */
  readonly residentEntryLimit: number;
}

export const NO_TEST_HOOKS: TestHooks = {
  active: false,
  description: 'none',
  warmupOrder: (steps) => steps,
  afterWarmupStep: () => undefined,
  flushHoldMs: 0,
  applyHoldMs: 0,
  commitReplyDelayMs: 0,
  warmupExpiriesPersisted: () => undefined,
  streamReads: false,
  residentEntryLimit: 0,
};

/** The order before the fix: persistVBState moved from right after createVBuckets to just
 * before the last step, after traffic and warmup's expiries have issued seqnos. */
export function legacyWarmupOrder<T extends { readonly name: string }>(steps: readonly T[]): readonly T[] {
  const persist = steps.find((s) => s.name === 'persistVBState');
  if (persist === undefined) return steps;
  const rest = steps.filter((s) => s !== persist);
  return [...rest.slice(0, -1), persist, ...rest.slice(-1)];
}

function crash(reason: string): void {
  log.warn(`test hook: SIGKILL ${reason}`);
  process.kill(process.pid, 'SIGKILL');
}

export function testHooksFromEnv(env: NodeJS.ProcessEnv): TestHooks {
  const crashAfterStep = env.LMCACHED_CRASH_AFTER_STEP || null;
  const crashAfterExpiries = Number(env.LMCACHED_CRASH_AFTER_EXPIRIES ?? 0) || 0;
  const legacy = env.LMCACHED_WARMUP_LEGACY_ORDER === '1';
  const flushHoldMs = Number(env.LMCACHED_FLUSH_DELAY_MS ?? 0) || 0;
  const stepDelayMs = Number(env.LMCACHED_WARMUP_STEP_DELAY_MS ?? 0) || 0;
  const applyHoldMs = Number(env.LMCACHED_APPLY_DELAY_MS ?? 0) || 0;
  const commitReplyDelayMs = Number(env.LMCACHED_COMMIT_REPLY_DELAY_MS ?? 0) || 0;
  const streamReads = env.LMCACHED_STREAM_READS === '1';
  const residentEntryLimit = Number(env.LMCACHED_RESIDENT_ENTRY_LIMIT ?? 0) || 0;
  if (crashAfterStep === null && crashAfterExpiries === 0 && !legacy && flushHoldMs === 0 && applyHoldMs === 0 && commitReplyDelayMs === 0 && stepDelayMs === 0 && !streamReads && residentEntryLimit === 0) return NO_TEST_HOOKS;
  const set = Object.keys(env).filter((k) => /^LMCACHED_(CRASH_AFTER_STEP|CRASH_AFTER_EXPIRIES|WARMUP_LEGACY_ORDER|FLUSH_DELAY_MS|APPLY_DELAY_MS|COMMIT_REPLY_DELAY_MS|WARMUP_STEP_DELAY_MS|STREAM_READS|RESIDENT_ENTRY_LIMIT)$/.test(k) && env[k]);
  return {
    active: true,
    description: `${set.map((k) => `${k}=${env[k]}`).join(' ')}${legacy ? ' (failover entries reach disk only at the end of warmup)' : ''}`,
    warmupOrder: (steps) => (legacy ? legacyWarmupOrder(steps) : steps),
    async afterWarmupStep(name) {
      if (name === crashAfterStep) crash(`after warmup step ${name}`);
      if (stepDelayMs > 0) await new Promise((r) => setTimeout(r, stepDelayMs));
    },
    flushHoldMs,
    applyHoldMs,
    commitReplyDelayMs,
    warmupExpiriesPersisted(total) {
      if (crashAfterExpiries > 0 && total >= crashAfterExpiries) crash(`${total} warmup expiries persisted`);
    },
    streamReads,
    residentEntryLimit,
  };
}
