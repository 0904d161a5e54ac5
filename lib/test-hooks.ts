/**
 * Fault-injection hooks, read from the environment once at start-up. They exist so tests can
 * prove the warmup order matters; each is documented in the README.
 */
import { log } from './log.js';

export interface CrashHooks {
  /** LMCACHED_CRASH_AFTER_STEP: SIGKILL this process right after that warmup step. */
  crashAfterStep: string | null;
  /** LMCACHED_CRASH_AFTER_EXPIRIES: SIGKILL once warmup has persisted this many expiries. */
  crashAfterExpiries: number;
  /** LMCACHED_WARMUP_LEGACY_ORDER=1: failover table reaches disk only at the end of warmup. */
  legacyWarmupOrder: boolean;
  /** LMCACHED_FLUSH_DELAY_MS: hold each flusher batch back this long (an unpersisted tail). */
  flushHoldMs: number;
  /** LMCACHED_WARMUP_STEP_DELAY_MS: pause this long after each warmup step (to observe it). */
  warmupStepDelayMs: number;
  crash(reason: string): void;
}

export function crashHooksFromEnv(env: NodeJS.ProcessEnv): CrashHooks {
  return {
    crashAfterStep: env.LMCACHED_CRASH_AFTER_STEP || null,
    crashAfterExpiries: Number(env.LMCACHED_CRASH_AFTER_EXPIRIES ?? 0) || 0,
    legacyWarmupOrder: env.LMCACHED_WARMUP_LEGACY_ORDER === '1',
    flushHoldMs: Number(env.LMCACHED_FLUSH_DELAY_MS ?? 0) || 0,
    warmupStepDelayMs: Number(env.LMCACHED_WARMUP_STEP_DELAY_MS ?? 0) || 0,
    crash(reason: string): void {
      log.warn(`test hook: SIGKILL ${reason}`);
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
