/**
 * Engine counters, named as memcached's `stats` reports them.
 */
export class EngineStats {
  cmd_get = 0;
  cmd_set = 0;
  cmd_flush = 0;
  cmd_touch = 0;
  get_hits = 0;
  get_misses = 0;
  get_expired = 0;
  get_flushed = 0;
  delete_hits = 0;
  delete_misses = 0;
  incr_hits = 0;
  incr_misses = 0;
  decr_hits = 0;
  decr_misses = 0;
  cas_hits = 0;
  cas_misses = 0;
  cas_badval = 0;
  touch_hits = 0;
  touch_misses = 0;
  total_items = 0;
  curr_items = 0;
  bytes = 0;
  reclaimed = 0;
  /** Tombstones and flushed items removed from disk by the purger. */
  purged = 0;
}
