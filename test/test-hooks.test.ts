/**
 * The test-hook seam: with no LMCACHED_* test variable set, production gets the hooks that do
 * nothing (the real warmup order, no hold, no crash, the fast read path); each variable alone
 * turns the seam on; the legacy order differs from the real one only in where persistVBState is.
 */
import t from 'tap';
import { NO_TEST_HOOKS, legacyWarmupOrder, testHooksFromEnv } from '../lib/test-hooks.js';
import { WARMUP_STEPS } from '../lib/engine/warmup.js';

t.test('unset: the do-nothing hooks, and the real warmup order', async (t) => {
  const hooks = testHooksFromEnv({ PATH: '/usr/bin', LMCACHED_CRASH_AFTER_STEP: '' });
  t.equal(hooks, NO_TEST_HOOKS);
  t.equal(hooks.active, false);
  t.equal(hooks.warmupOrder(WARMUP_STEPS), WARMUP_STEPS);
  t.equal(hooks.flushHoldMs, 0);
  t.equal(hooks.streamReads, false);
  hooks.warmupExpiriesPersisted(1_000_000);
  await hooks.afterWarmupStep('persistVBState');
  t.pass('no hook ends the process');
});

t.test('each variable turns the seam on', async (t) => {
  for (const [name, value] of [
    ['LMCACHED_CRASH_AFTER_STEP', 'scanItems'],
    ['LMCACHED_CRASH_AFTER_EXPIRIES', '3'],
    ['LMCACHED_WARMUP_LEGACY_ORDER', '1'],
    ['LMCACHED_FLUSH_DELAY_MS', '50'],
    ['LMCACHED_WARMUP_STEP_DELAY_MS', '10'],
    ['LMCACHED_STREAM_READS', '1'],
  ]) {
    t.equal(testHooksFromEnv({ [name]: value }).active, true, name);
  }
  t.equal(testHooksFromEnv({ LMCACHED_FLUSH_DELAY_MS: '50' }).flushHoldMs, 50);
});

t.test('the legacy order only moves persistVBState after the steps that issue seqnos', async (t) => {
  const real = WARMUP_STEPS.map((s) => s.name);
  const legacy = legacyWarmupOrder(WARMUP_STEPS).map((s) => s.name);
  t.same(legacy.filter((n) => n !== 'persistVBState'), real.filter((n) => n !== 'persistVBState'));
  t.ok(legacy.indexOf('persistVBState') > legacy.indexOf('scanItems'), 'after the expiring scan');
  t.ok(legacy.indexOf('persistVBState') > legacy.indexOf('enableTraffic'), 'after traffic');
  t.same(testHooksFromEnv({ LMCACHED_WARMUP_LEGACY_ORDER: '1' }).warmupOrder(WARMUP_STEPS).map((s) => s.name), legacy);
});
