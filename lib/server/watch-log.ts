/**
 * memcached's `watch`: connections that asked for it get a line per event, in memcached
 * 1.6.18's format: item reads (fetchers), stores (mutations) and connections opened and closed
 * (connevents). lmcached evicts nothing (every item stays in LMDB), so `evictions` is accepted
 * and stays silent, as are the flags of memcached's proxy and raw-command logs. Lines go out
 * once per event-loop turn; a watcher further behind than its buffer skips lines and is told
 * how many (`skipped=N`), as memcached tells it. The hot path pays one flag test per item.
 */
import type { Socket } from 'node:net';
import { Outcome } from '../engine/outcome.js';
import { absoluteExpiry, nowSeconds } from '../engine/expiry.js';
import type { MutationResult } from '../engine/requests.js';
import { uriEncode } from '../../protocol/uri-encode.js';
import { ONLY_CLASS } from '../engine/item-class.js';

export const WATCH = {
  rawcmds: 1,
  evictions: 2,
  fetchers: 4,
  mutations: 8,
  sysevents: 16,
  connevents: 32,
  proxyreqs: 64,
  proxyevents: 128,
  proxyuser: 256,
} as const;

/** memcached's WATCHER_LIMIT. */
const WATCHER_LIMIT = 20;

export type StoreCommandName = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';
export type CloseReason = 'error' | 'normal' | 'idle_timeout' | 'shutdown';

interface Watcher {
  socket: Socket;
  flags: number;
  skipped: number;
  pending: string;
}

/** The flags a `watch` line names (fetchers alone when none); null for an unknown one. */
export function watchFlags(names: readonly string[]): number | null {
  if (names.length === 0) return WATCH.fetchers;
  let flags = 0;
  for (const n of names) {
    if (!Object.hasOwn(WATCH, n)) return null;
    flags |= (WATCH as Record<string, number>)[n];
  }
  return flags;
}

/** A store's expiry as memcached's item_store line gives it: seconds left, 0 for none. */
export function ttlOf(exptime: number): number {
  if (exptime === 0) return 0;
  const now = nowSeconds();
  return Math.max(0, absoluteExpiry(exptime, now) - now);
}

/** memcached's item_store status of a store's outcome (null: not a store that happened). */
function storeStatus(o: Outcome, cmd: StoreCommandName): string | null {
  switch (o) {
    case Outcome.Success:
      return 'stored';
    case Outcome.Exists:
      return cmd === 'add' ? 'not_stored' : 'exists';
    case Outcome.NotFound:
      return cmd === 'cas' ? 'not_found' : 'not_stored';
    case Outcome.NotStored:
      return 'not_stored';
    case Outcome.TooLarge:
      return 'too_large';
    case Outcome.WritesBlocked:
      return 'no_memory';
    default:
      return null;
  }
}

export class WatchLog {
  /** What some watcher wants (WATCH bits): callers test this before building a line. */
  flags = 0;
  /** The connection being served (memcached's cfd; lmcached's connection number). */
  cfd = 0;
  /** Lines dropped for watchers too far behind, and lines sent (memcached's log_watcher_*). */
  skipped = 0;
  sent = 0;
  private readonly watchers = new Set<Watcher>();
  private gid = 0;
  private flushQueued = false;

  constructor(private readonly bufferBytes: () => number) {}

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Makes the socket a watcher; false when WATCHER_LIMIT are watching. */
  add(socket: Socket, flags: number): boolean {
    if (this.watchers.size >= WATCHER_LIMIT) return false;
    const w: Watcher = { socket, flags, skipped: 0, pending: 'OK\r\n' };
    this.watchers.add(w);
    // A watcher that sends its end has gone: end ours too, so the socket closes.
    socket.on('end', () => socket.destroy());
    this.flags |= flags;
    socket.on('close', () => {
      this.watchers.delete(w);
      this.flags = 0;
      for (const x of this.watchers) this.flags |= x.flags;
    });
    this.queueFlush();
    return true;
  }

  itemGet(key: Buffer, found: boolean, size: number): void {
    this.emit(WATCH.fetchers, `type=item_get key=${uriEncode(key)} status=${found ? 'found' : 'not_found'} clsid=${found ? ONLY_CLASS : 0} cfd=${this.cfd} size=${found ? size : 0}`);
  }

  /** A store's line: a stored one as the item it made (its size and TTL, as memcached logs an
   * append's whole item), another as the request's data (`ttl`: its seconds left). */
  itemStore(key: Buffer, o: Outcome, cmd: StoreCommandName, result: MutationResult, ttl: number, size: number): void {
    const status = storeStatus(o, cmd);
    if (status === null) return;
    if (o === Outcome.Success) {
      size = result.valueLength;
      ttl = result.expiry === 0 ? 0 : Math.max(0, result.expiry - nowSeconds());
    }
    this.emit(WATCH.mutations, `type=item_store key=${uriEncode(key)} status=${status} cmd=${cmd} ttl=${ttl} clsid=${ONLY_CLASS} cfd=${this.cfd} size=${size}`);
  }

  connNew(address: string, port: number, cfd: number): void {
    this.emit(WATCH.connevents, `type=conn_new rip=${address} rport=${port} transport=tcp cfd=${cfd}`);
  }

  connClose(address: string, port: number, reason: CloseReason, cfd: number): void {
    this.emit(WATCH.connevents, `type=conn_close rip=${address} rport=${port} transport=tcp reason=${reason} cfd=${cfd}`);
  }

  private emit(flag: number, text: string): void {
    if ((this.flags & flag) === 0) return;
    // memcached prints seconds and microseconds, the latter unpadded.
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const line = `ts=${Math.floor(us / 1e6)}.${us % 1e6} gid=${++this.gid} ${text}\n`;
    const limit = this.bufferBytes();
    for (const w of this.watchers) {
      if ((w.flags & flag) === 0) continue;
      if (w.socket.writableLength + w.pending.length > limit) {
        w.skipped++;
        this.skipped++;
        continue;
      }
      if (w.skipped > 0) {
        w.pending += `skipped=${w.skipped}\n`;
        w.skipped = 0;
      }
      w.pending += line;
      this.sent++;
    }
    this.queueFlush();
  }

  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      for (const w of this.watchers) {
        if (w.pending.length === 0 || w.socket.destroyed) continue;
        w.socket.write(w.pending);
        w.pending = '';
      }
    });
  }
}
