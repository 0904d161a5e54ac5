/**
 * What every connection shares: the engine, warmup's progress, the settings it was started
 * with, the open DCP producers, and the server-wide counters that are not the engine's business.
 */
import type { Engine } from '../engine/engine.js';
import type { Warmup } from '../engine/warmup.js';
import type { DcpProducer } from '../dcp/producer.js';
import type { Settings } from '../settings.js';
import type { Replicator } from '../replication/replicator.js';
import { ClusterMap } from '../replication/cluster-map.js';
import type { SaslUsers } from './sasl.js';
import { MetaStates } from './meta-state.js';
import { WatchLog } from './watch-log.js';

export interface ServerCounters {
  curr_connections: number;
  total_connections: number;
  rejected_connections: number;
  bytes_read: number;
  bytes_written: number;
  auth_cmds: number;
  auth_errors: number;
  ssl_handshake_errors: number;
  /** Meta commands run (memcached's cmd_meta). */
  cmd_meta: number;
  /** Stores refused for their size (-I), as memcached counts them. */
  store_too_large: number;
  /** Full collections run while idle after a burst (idle-compaction.ts). */
  heap_compactions: number;
  /** Times --ack=memory's back pressure made a connection's replies wait for a commit (the
   * oldest uncommitted write over MEMORY_ACK_LAG_MS old, or over MEMORY_ACK_BACKLOG_BYTES (memory-ack.ts)
   * uncommitted): how often the disk could not keep up. */
  ack_memory_holds: number;
  /** Times the log and apply threads changed scheduling policy as commits began or stopped
   * lagging (writer-thread-policy.ts). */
  writer_policy_switches: number;
}

export interface ServerContext {
  engine: Engine;
  warmup: Warmup;
  /** Open DCP producers, for `stats dcp`. */
  producers: Set<DcpProducer>;
  settings: Settings;
  /** The SASL users with -S (or -Y alone: the same users); null without. */
  sasl: SaslUsers | null;
  /** The text protocol's users with -Y; null without. */
  asciiUsers: SaslUsers | null;
  /** With -Z: when the certificate was last loaded (ms), and how to load it again (the text
   * command refresh_certs); the reload returns an error message, or null. */
  tlsLoadedAt: number;
  refreshCerts(): string | null;
  /** memcached's `watch` log: its watchers, and the connection being served. */
  watch: WatchLog;
  /** Stale and win-token state of items, for the meta protocol. */
  metaStates: MetaStates;
  /** memcached's `stats conns`: the listener and each client connection (set by the server). */
  connectionStats(): Array<readonly [string, string | number]>;
  /** The link to the active node (--replica-of, or the node a takeover handed vBuckets to). */
  replicator: Replicator | null;
  /** Where this node serves (host:port), once listening. */
  selfAddress: string;
  clusterMap: ClusterMap;
  /** A takeover stream of this node handed `vbid` to the consumer named `consumerName`. */
  takeoverDone(vbid: number, consumerName: string): void;
  counters: ServerCounters;
  startedAt: number;
  version: string;
  verbosity: number;
}

/** A context for a server starting now: no producers, counters at zero. */
export function newServerContext(parts: Pick<ServerContext, 'engine' | 'warmup' | 'settings' | 'version'> & { sasl?: SaslUsers | null; asciiUsers?: SaslUsers | null }): ServerContext {
  return {
    ...parts,
    sasl: parts.sasl ?? null,
    asciiUsers: parts.asciiUsers ?? null,
    tlsLoadedAt: 0,
    refreshCerts: () => 'TLS is not enabled',
    connectionStats: () => [],
    metaStates: new MetaStates(),
    watch: new WatchLog(() => parts.settings.watcherBufferKb * 1024),
    producers: new Set(),
    replicator: null,
    takeoverDone: () => undefined,
    selfAddress: '',
    clusterMap: new ClusterMap(),
    counters: { curr_connections: 0, total_connections: 0, rejected_connections: 0, bytes_read: 0, bytes_written: 0, auth_cmds: 0, auth_errors: 0, ssl_handshake_errors: 0, cmd_meta: 0, store_too_large: 0, heap_compactions: 0, ack_memory_holds: 0, writer_policy_switches: 0 },
    startedAt: Date.now(),
    verbosity: parts.settings.verbosity,
  };
}
