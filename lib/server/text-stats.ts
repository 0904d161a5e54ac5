/**
 * The text protocol's `stats` and `cache_memlimit`, in memcached 1.6.18's words: `stats` with
 * no group, `reset`, `detail on|off|dump`, `settings`, `items`, `slabs`, `sizes`, `conns`, and the
 * groups the binary STAT knows (vbucket, failovers, warmup, dcp, replication). lmcached has no
 * slab allocator: `stats slabs` reports its resident table as one class, 1 (README says so).
 */
import type { ServerContext } from './context.js';
import { resetStats, statGroup, type StatPairs } from './stats.js';
import { cachedump } from './text-dump.js';

const MEGABYTE = 1024 * 1024;

const lines = (pairs: StatPairs): string[] => [...pairs.map(([k, v]) => `STAT ${k} ${v}\r\n`), 'END\r\n'];

/** The resident table as memcached's one slab class, and the totals memcached prints after. */
function slabStats(ctx: ServerContext): StatPairs {
  const storage = ctx.engine.storageStats();
  const s = ctx.engine.stats;
  return [
    ['1:chunk_size', 0],
    ['1:used_chunks', storage.items],
    ['1:total_chunks', storage.items],
    ['1:mem_requested', storage.bytes],
    ['1:get_hits', s.get_hits],
    ['1:cmd_set', s.cmd_set],
    ['1:delete_hits', s.delete_hits],
    ['1:incr_hits', s.incr_hits],
    ['1:decr_hits', s.decr_hits],
    ['1:cas_hits', s.cas_hits],
    ['1:cas_badval', s.cas_badval],
    ['1:touch_hits', s.touch_hits],
    ['active_slabs', 1],
    ['total_malloced', storage.bytes],
  ];
}

/** The reply lines of `stats <args>`. */
export function textStats(ctx: ServerContext, args: readonly string[]): string[] {
  const group = args[0] ?? '';
  switch (group) {
    case 'reset':
      resetStats(ctx);
      return ['RESET\r\n'];
    case 'detail': {
      // lmcached keeps no per-prefix statistics: on and off are accepted, a dump is empty.
      const arg = args[1];
      if (arg === 'on' || arg === 'off') return ['OK\r\n'];
      if (arg === 'dump') return ['END\r\n'];
      return ['CLIENT_ERROR usage: stats detail on|off|dump\r\n'];
    }
    case 'slabs':
      return lines(slabStats(ctx));
    case 'cachedump':
      return cachedump(ctx, args);
    case 'conns':
      return lines(ctx.connectionStats());
    case 'sizes':
      // memcached without -o track_sizes says the same.
      return lines([['sizes_status', 'disabled']]);
    default: {
      const pairs = statGroup(ctx, args.join(' '));
      return pairs === null ? ['ERROR\r\n'] : lines(pairs);
    }
  }
}

/** `cache_memlimit <megabytes>`: memcached's bounds and replies; the resident table's quota. */
export function setMemoryLimit(ctx: ServerContext, megabytes: number): string {
  if (megabytes < 8) return 'MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m';
  if (megabytes > 1_000_000_000) return 'MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes';
  ctx.engine.setCacheQuota(megabytes * MEGABYTE);
  ctx.settings.memoryLimitMb = megabytes;
  return 'OK';
}
