/**
 * The statistics groups both protocols report (memcached's `stats` and kv_engine's groups):
 * general (no key), settings, items, vbucket, vbucket-details, failovers, warmup, dcp, detail;
 * and `stats reset`. Each group is a list of name/value pairs; the protocols encode them.
 */
import type { ServerContext } from './context.js';
import { VBUCKET_STATE_NAMES, VBucketState, type VBucket } from '../engine/vbucket.js';
import { youngGenerationBytes } from '../young-generation-cap.js';

export type StatPairs = Array<readonly [string, string | number]>;

/** Groups by name; the optional argument after a space picks one vBucket where it applies. */
const GROUPS: Record<string, (ctx: ServerContext, arg: string | undefined) => StatPairs | null> = {
  '': generalStats,
  settings: settingsStats,
  items: itemStats,
  vbucket: vbucketStats,
  'vbucket-details': vbucketDetailStats,
  failovers: failoverStats,
  warmup: warmupStats,
  dcp: dcpStats,
  detail: detailStats,
  replication: replicationStats,
  conns: (ctx) => ctx.connectionStats(),
};

/** The pairs of a `stats` request's key ("group" or "group arg"), or null for an unknown
 * group or a bad argument. */
export function statGroup(ctx: ServerContext, key: string): StatPairs | null {
  const space = key.indexOf(' ');
  const group = space < 0 ? key : key.slice(0, space);
  const arg = space < 0 ? undefined : key.slice(space + 1);
  const producer = Object.hasOwn(GROUPS, group) ? GROUPS[group] : undefined;
  return producer?.(ctx, arg) ?? null;
}

/** The general group; the text protocol's `stats` uses it too. */
export function generalStats(ctx: ServerContext): StatPairs {
  const s = ctx.engine.stats;
  const storage = ctx.engine.storageStats();
  const usage = process.resourceUsage();
  const now = Date.now();
  return [
    ['pid', process.pid],
    ['uptime', Math.floor((now - ctx.startedAt) / 1000)],
    ['time', Math.floor(now / 1000)],
    ['version', ctx.version],
    ['pointer_size', 64],
    ['rusage_user', (usage.userCPUTime / 1e6).toFixed(6)],
    ['rusage_system', (usage.systemCPUTime / 1e6).toFixed(6)],
    ['max_connections', ctx.settings.maxConnections],
    ['curr_connections', ctx.counters.curr_connections],
    ['total_connections', ctx.counters.total_connections],
    ['rejected_connections', ctx.counters.rejected_connections],
    ['connection_structures', ctx.counters.curr_connections],
    ['accepting_conns', 1],
    ['listen_disabled_num', 0],
    ['time_in_listen_disabled_us', 0],
    ['cmd_meta', ctx.counters.cmd_meta],
    ['store_too_large', ctx.counters.store_too_large],
    ['log_watchers', ctx.watch.watcherCount],
    ['log_watcher_skipped', ctx.watch.skipped],
    ['log_watcher_sent', ctx.watch.sent],
    ['auth_cmds', ctx.counters.auth_cmds],
    ['auth_errors', ctx.counters.auth_errors],
    // As memcached: present with -Z only.
    ...(ctx.settings.enableSsl
      ? ([
          ['ssl_handshake_errors', ctx.counters.ssl_handshake_errors],
          ['time_since_server_cert_refresh', Math.floor((now - ctx.tlsLoadedAt) / 1000)],
        ] satisfies StatPairs)
      : []),
    ['cmd_get', s.cmd_get],
    ['cmd_set', s.cmd_set],
    ['cmd_flush', s.cmd_flush],
    ['cmd_touch', s.cmd_touch],
    ['get_hits', s.get_hits],
    ['get_misses', s.get_misses],
    ['get_expired', s.get_expired],
    ['get_flushed', s.get_flushed],
    ['delete_misses', s.delete_misses],
    ['delete_hits', s.delete_hits],
    ['incr_misses', s.incr_misses],
    ['incr_hits', s.incr_hits],
    ['decr_misses', s.decr_misses],
    ['decr_hits', s.decr_hits],
    ['cas_misses', s.cas_misses],
    ['cas_hits', s.cas_hits],
    ['cas_badval', s.cas_badval],
    ['touch_hits', s.touch_hits],
    ['touch_misses', s.touch_misses],
    ['bytes_read', ctx.counters.bytes_read],
    ['bytes_written', ctx.counters.bytes_written],
    ['heap_compactions', ctx.counters.heap_compactions],
    ['heap_young_bytes', youngGenerationBytes()],
    ['limit_maxbytes', storage.quotaBytes],
    ['threads', 1],
    ['curr_items', s.curr_items],
    ['total_items', s.total_items],
    ['bytes', s.bytes],
    // Items dropped from the cache stay on disk: that is an ejection, never an eviction.
    ['evictions', 0],
    ['cache_items', storage.items],
    ['cache_bytes', storage.bytes],
    // The memory committed resident records take: arena pages, which classes keep once used.
    ['cache_arena_bytes', storage.arenaBytes],
    ['cache_hits', storage.hits],
    ['cache_misses', storage.misses],
    ['cache_ejections', storage.ejections],
    ['reclaimed', s.reclaimed],
    ['purged', s.purged],
    ['flusher_backlog', storage.backlog],
    ['unpersisted_bytes', storage.unpersistedBytes],
    ['ack_memory_holds', ctx.counters.ack_memory_holds],
    ['writer_policy_switches', ctx.counters.writer_policy_switches],
    // Commits that failed (disk full, I/O errors); while one is retried, writes are refused.
    ['disk_errors', storage.diskErrors],
    // Commits timed from batch to answer (ms), kv_engine's names; the longest is what a reply
    // held by --ack=persist, or by --ack=memory's back pressure, may have waited.
    ['ep_commit_num', storage.commits.count],
    ['ep_commit_time', Math.round(storage.commits.lastMs)],
    ['ep_commit_time_total', Math.round(storage.commits.totalMs)],
    ['commit_time_max_ms', Math.round(storage.commits.maxMs)],
    ['writes_blocked', storage.writesBlocked ? 1 : 0],
    ['last_disk_error_time', Math.floor(storage.lastDiskErrorAt / 1000)],
    ['last_disk_error', storage.lastDiskError.replace(/\s+/g, '_') || 'none'],
    ['flusher_committed_batch', storage.committedBatch],
    // Committed (in the commit log, synced) and not yet in LMDB: kept in memory until then.
    ['commit_log_unapplied_batches', storage.unappliedBatches],
    ['commit_log_unapplied_bytes', storage.unappliedBytes],
    ['ack_mode', ctx.settings.ack],
  ];
}

function settingsStats(ctx: ServerContext): StatPairs {
  const st = ctx.settings;
  return [
    ['maxconns', st.maxConnections],
    ['tcpport', st.port],
    ['udpport', 0],
    ['inter', st.listen],
    // The pre-rename name lmcached printed before; kept for scripts that read it.
    ['interface', st.listen],
    ['verbosity', ctx.verbosity],
    // lmcached keeps every item until it expires or is deleted: nothing is ever evicted.
    ['evictions', 'off'],
    ['cas_enabled', 'yes'],
    ['auth_enabled_sasl', ctx.sasl === null ? 'no' : 'yes'],
    ['auth_enabled_ascii', st.authFile ?? 'no'],
    ['flush_enabled', 'yes'],
    ['shutdown_command', st.enableShutdown ? 'yes' : 'no'],
    ['maxbytes', st.memoryLimitMb * 1024 * 1024],
    ['item_size_max', st.maxItemSize],
    // Chosen per connection by its first byte, as memcached's default.
    ['binding_protocol', 'auto-negotiate'],
    ['domain_socket', 'NULL'],
    ['maxconns_fast', 'yes'],
    ['tcp_backlog', 511],
    ['detail_enabled', 'no'],
    ['dump_enabled', st.dumpEnabled ? 'yes' : 'no'],
    ['lru_crawler', st.lruCrawler ? 'yes' : 'no'],
    ['watcher_logbuf_size', st.watcherBufferKb * 1024],
    ['track_sizes', 'no'],
    ['stat_key_prefix', ':'],
    ['num_threads', 1],
    ['data_dir', st.dataDir],
    ['ack', st.ack],
    ['flush_interval_ms', st.flushIntervalMs],
    ['dcp_batch_ms', st.dcpBatchMs],
    ['purge_age', st.purgeAge],
    ['purge_interval', st.purgeInterval],
    ['helper_nice', st.helperNice],
    ['helper_policy', st.helperPolicy],
    ['vbuckets', st.vbuckets],
    ['idle_timeout', st.idleTimeout],
    // memcached's names and its words for unset files.
    ['ssl_enabled', st.enableSsl ? 'yes' : 'no'],
    ['ssl_chain_cert', st.ssl.chainCert ?? '(null)'],
    ['ssl_key', st.ssl.key ?? '(null)'],
    ['ssl_verify_mode', st.ssl.verifyMode],
    ['ssl_ciphers', st.ssl.ciphers ?? 'NULL'],
    ['ssl_ca_cert', st.ssl.caCert ?? 'NULL'],
    ['ssl_min_version', st.ssl.minVersion],
    ['ssl_keyformat', 1],
    ['ssl_session_cache', 'no'],
    ['ssl_kernel_tls', 'no'],
  ];
}

/** lmcached has no slab classes; one class, 1, stands for every item. */
function itemStats(ctx: ServerContext): StatPairs {
  const s = ctx.engine.stats;
  return [
    ['items:1:number', s.curr_items],
    ['items:1:evicted', 0],
    ['items:1:outofmemory', 0],
    ['items:1:reclaimed', s.reclaimed],
  ];
}

/** A replica node's link to its active and each replica vBucket's progress (a node without
 * --replica-of reports its role and nothing else). */
function replicationStats(ctx: ServerContext, arg: string | undefined): StatPairs | null {
  const vbs = selectVBuckets(ctx, arg);
  if (vbs === null) return null;
  const r = ctx.replicator;
  const out: Array<readonly [string, string | number]> = [
    ['replication_source', r === null ? '' : r.source],
    ['replication_state', r === null ? 'none' : r.state],
    ['replication_reconnects', r?.reconnects ?? 0],
    ['replication_flushes', r?.flushes ?? 0],
  ];
  let rollbacks = 0;
  const now = Date.now();
  for (const vb of vbs) {
    const l = r?.vbs.get(vb.id);
    if (l !== undefined) rollbacks += l.rollbacks;
    if (vb.state !== VBucketState.Replica && l === undefined) continue;
    const p = `vb_${vb.id}`;
    out.push(
      [`${p}:state`, VBUCKET_STATE_NAMES[vb.state]],
      [`${p}:streaming`, l?.streaming === true ? 1 : 0],
      [`${p}:streamed_from_seqno`, l?.streamedFrom ?? 0],
      [`${p}:last_received_seqno`, l?.lastReceivedSeqno ?? 0],
      [`${p}:high_seqno`, vb.highSeqno],
      [`${p}:persisted_seqno`, vb.persistedHighSeqno],
      [`${p}:lag_items`, Math.max(0, (l?.activeSnapEnd ?? 0) - vb.highSeqno)],
      [`${p}:lag_ms`, l === undefined || l.behindSince === 0 ? 0 : now - l.behindSince],
      [`${p}:last_item_age_ms`, l === undefined || l.lastItemAt === 0 ? -1 : now - l.lastItemAt],
      [`${p}:rollbacks`, l?.rollbacks ?? 0],
      [`${p}:resyncs`, l?.resyncs ?? 0],
      [`${p}:conflict`, l?.conflict === true ? 1 : 0],
    );
  }
  out.splice(4, 0, ['replication_rollbacks', rollbacks]);
  return out;
}

/** The vBuckets a group reports: all, or the one named by the argument (null if invalid). */
function selectVBuckets(ctx: ServerContext, arg: string | undefined): VBucket[] | null {
  if (arg === undefined) return ctx.engine.vbuckets.all();
  if (!/^\d+$/.test(arg)) return null;
  const vb = ctx.engine.vbuckets.get(Number(arg));
  return vb === undefined ? null : [vb];
}

function vbucketStats(ctx: ServerContext, arg: string | undefined): StatPairs | null {
  const vbs = selectVBuckets(ctx, arg);
  return vbs && vbs.map((vb) => [`vb_${vb.id}`, VBUCKET_STATE_NAMES[vb.state]] as const);
}

function vbucketDetailStats(ctx: ServerContext, arg: string | undefined): StatPairs | null {
  const vbs = selectVBuckets(ctx, arg);
  if (vbs === null) return null;
  const out: Array<readonly [string, string | number]> = [];
  for (const vb of vbs) {
    const p = `vb_${vb.id}`;
    out.push(
      [p, VBUCKET_STATE_NAMES[vb.state]],
      [`${p}:uuid`, vb.uuid.toString()],
      [`${p}:high_seqno`, vb.highSeqno],
      [`${p}:persisted_high_seqno`, vb.persistedHighSeqno],
      [`${p}:purge_seqno`, vb.purgeSeqno],
      [`${p}:last_persisted_snap_start`, vb.snapStart],
      [`${p}:last_persisted_snap_end`, vb.snapEnd],
      [`${p}:num_items`, vb.numItems],
      [`${p}:bytes`, vb.numBytes],
      [`${p}:pending_writes`, vb.pending.size],
    );
  }
  return out;
}

function failoverStats(ctx: ServerContext, arg: string | undefined): StatPairs | null {
  const vbs = selectVBuckets(ctx, arg);
  if (vbs === null) return null;
  const out: Array<readonly [string, string | number]> = [];
  for (const vb of vbs) {
    const entries = vb.failovers.list();
    out.push([`vb_${vb.id}:num_entries`, entries.length]);
    entries.forEach((e, i) => out.push([`vb_${vb.id}:${i}:id`, e.uuid.toString()], [`vb_${vb.id}:${i}:seq`, e.seqno]));
  }
  return out;
}

/** Warmup progress: state, the step running, each finished step's duration, counts. */
function warmupStats(ctx: ServerContext): StatPairs {
  const w = ctx.warmup;
  const out: Array<readonly [string, string | number]> = [
    ['ep_warmup_state', w.state],
    ['ep_warmup_current_step', w.current ?? ''],
    ['ep_warmup_order', w.steps.map((s) => s.name).join(',')],
    ['ep_warmup_unclean_shutdown', String(w.ctx.unclean)],
    ['ep_warmup_items_scanned', w.ctx.itemsScanned],
    ['ep_warmup_items_expired', w.ctx.itemsExpired],
    ['ep_warmup_persist_failures', w.ctx.persistFailures],
    ['ep_warmup_traffic_enabled_ms', w.trafficEnabledAfterMs],
    ['ep_warmup_complete_ms', w.completedAfterMs],
  ];
  for (const step of w.done) out.push([`ep_warmup_step_${step.name}_ms`, step.ms]);
  return out;
}

/** memcached's `stats detail on|off|dump`: lmcached keeps no per-prefix statistics, so on and
 * off are accepted and a dump is empty (memcached's dump format: just END). */
function detailStats(_ctx: ServerContext, arg: string | undefined): StatPairs | null {
  if (arg === 'on' || arg === 'off') return [];
  if (arg === 'dump') return [['detailed', 'END\r\n']];
  return null;
}

/** One block per open DCP producer connection, named by its DCP_OPEN name. */
function dcpStats(ctx: ServerContext): StatPairs {
  const out: Array<readonly [string, string | number]> = [['ep_dcp_count', ctx.producers.size]];
  for (const p of ctx.producers) {
    const n = `eq_dcpq:${p.name}`;
    out.push(
      [`${n}:num_streams`, p.streams.size],
      [`${n}:items_sent`, p.stats.itemsSent],
      [`${n}:total_bytes`, p.stats.bytesSent],
      [`${n}:unacked_bytes`, p.unacked],
      [`${n}:max_buffer_bytes`, p.bufferSize],
      [`${n}:cursors_dropped`, p.stats.cursorsDropped],
    );
  }
  return out;
}

/** memcached's `stats reset`: zero the counters, not the gauges. */
export function resetStats(ctx: ServerContext): void {
  const s = ctx.engine.stats;
  const keep = { curr_items: s.curr_items, bytes: s.bytes };
  for (const k of Object.keys(s) as Array<keyof typeof s>) s[k] = 0;
  s.curr_items = keep.curr_items;
  s.bytes = keep.bytes;
  ctx.counters.total_connections = 0;
  ctx.counters.rejected_connections = 0;
  ctx.counters.bytes_read = 0;
  ctx.counters.bytes_written = 0;
  ctx.counters.ack_memory_holds = 0;
  ctx.counters.writer_policy_switches = 0;
  ctx.engine.storageStats().commits.reset();
}
