/**
 * What every connection shares: the engine, the settings it was started with, and the
 * server-wide counters that are not the engine's business.
 */
import type { Engine } from '../engine/engine.js';
import type { Warmup } from '../engine/warmup.js';
import type { Store } from '../store/store.js';
import type { DcpProducer } from '../dcp/producer.js';
import type { Settings } from '../settings.js';

export interface ServerCounters {
  curr_connections: number;
  total_connections: number;
  rejected_connections: number;
  bytes_read: number;
  bytes_written: number;
}

export interface ServerContext {
  engine: Engine;
  warmup: Warmup;
  store: Store;
  /** Open DCP producers, for `stats dcp`. */
  producers: Set<DcpProducer>;
  settings: Settings;
  counters: ServerCounters;
  startedAt: number;
  version: string;
  verbosity: number;
}
