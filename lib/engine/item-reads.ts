/**
 * How the engine finds an item's live record: resident or in LMDB, hidden by a FLUSH, expired
 * (expired for good: an expiration is issued). A client's GET of a resident item reads the
 * record where it lies (an arena page) and makes no Buffer for it: a view per GET was a third
 * of the heap a pipelined GET load allocated (bench, allocation sampling).
 */
import { ItemState, recordCas, recordCasAt, recordExpiry, recordExpiryAt, recordHeaderLengthAt, recordRevSeqno, recordRevSeqnoAt, recordState, recordStateAt, recordValueLength } from '../store/record.js';
import type { RecordLocation } from './entry-records.js';
import { isExpired, nowSeconds } from './expiry.js';
import type { FlushBarrier } from './flush-barrier.js';
import { newDiskProbe, type DiskProbe, type ItemStorage } from './item-storage.js';
import type { ItemView, KeyRef } from './requests.js';
import { fillView, fillViewAt } from './results.js';
import type { EngineStats } from './stats.js';
import type { VBucket } from './vbucket.js';

/** Issues the expiration of an item found expired (the engine's tombstone). */
export type Expire = (vb: VBucket, key: KeyRef, rec: Buffer, probe: DiskProbe) => void;

/** What a store replacing an item needs of the live one it replaces. */
export interface LiveItem {
  cas: number;
  valueLength: number;
}

export class ItemReads {
  /** Reused by the GET path, which never writes (the writing operations pass their own). */
  private readonly readProbe: DiskProbe = newDiskProbe();
  private readonly located: RecordLocation = { buf: Buffer.alloc(0), offset: 0, length: 0, data: null };

  constructor(
    private readonly storage: ItemStorage,
    private readonly flushBarrier: FlushBarrier,
    private readonly stats: EngineStats,
    /** Whether expirations may be issued (traffic enabled): before, an expired item is only hidden. */
    private readonly mayExpire: () => boolean,
    private readonly expire: Expire,
  ) {}

  /** A client's read into `view`: whether a live record was found. */
  read(vb: VBucket, key: KeyRef, view: ItemView, fetch: boolean): boolean {
    const loc = this.located;
    if (this.storage.locateResident(key, fetch, loc) < 0) return this.liveOf(vb, key, this.storage.lookupStored(key, this.readProbe), view, this.readProbe, fetch, false) !== null;
    const { buf, offset, length, data } = loc;
    const expiry = recordExpiryAt(buf, offset);
    if (recordStateAt(buf, offset) === ItemState.Live && recordCasAt(buf, offset) > this.flushBarrier.barrier && (expiry === 0 || !isExpired(expiry, nowSeconds()))) {
      fillViewAt(view, buf, offset, length, data);
      return true;
    }
    // Not live, hidden or expired: the general way, with the record as a Buffer.
    this.readProbe.diskSeqno = -1;
    return this.liveOf(vb, key, buf.subarray(offset, offset + length), view, this.readProbe, fetch, false) !== null;
  }

  /**
   * findLive for a store that replaces the item (SET, ADD, REPLACE, CAS): whether a live item
   * exists, its CAS and value length in `live`, and `probe` filled, including the resident entry
   * found (the write that follows reuses it). A resident live record is read where it lies,
   * with no Buffer made for it.
   */
  findLiveToReplace(vb: VBucket, key: KeyRef, probe: DiskProbe, live: LiveItem): boolean {
    const loc = this.located;
    const e = this.storage.locateResident(key, false, loc);
    let rec: Buffer | null;
    if (e >= 0) {
      const { buf, offset, length } = loc;
      const cas = recordCasAt(buf, offset);
      const expiry = recordExpiryAt(buf, offset);
      probe.diskSeqno = -1;
      probe.rev = recordRevSeqnoAt(buf, offset);
      if (recordStateAt(buf, offset) === ItemState.Live && cas > this.flushBarrier.barrier && (expiry === 0 || !isExpired(expiry, nowSeconds()))) {
        probe.entry = e;
        live.cas = cas;
        live.valueLength = length - recordHeaderLengthAt(buf, offset);
        return true;
      }
      // Not live, hidden or expired: the general way, with the record as a Buffer.
      rec = this.liveOf(vb, key, buf.subarray(offset, offset + length), null, probe, false, true);
      probe.entry = e;
    } else {
      rec = this.liveOf(vb, key, this.storage.lookupStored(key, probe), null, probe, false, true);
    }
    if (rec === null) return false;
    live.cas = recordCas(rec);
    live.valueLength = recordValueLength(rec);
    return true;
  }

  /** The live record for a key, or null (expired items found here are expired for good);
   * with a `view`, the view describes it. The record is immutable: resident (every uncommitted
   * write is), or read from LMDB, copied and kept resident; or, `replaced` (the caller replaces
   * the item before its next store call, a SET), LMDB's view, not copied nor kept. */
  findLive(vb: VBucket, key: KeyRef, view: ItemView | null, probe: DiskProbe, fetch = false, replaced = false): Buffer | null {
    return this.liveOf(vb, key, this.storage.lookup(key, probe, fetch), view, probe, fetch, replaced);
  }

  /** findLive for the record a lookup found (`probe` says where). */
  private liveOf(vb: VBucket, key: KeyRef, found: Buffer | undefined, view: ItemView | null, probe: DiskProbe, fetch: boolean, replaced: boolean): Buffer | null {
    let rec = found;
    probe.rev = rec === undefined ? 0 : recordRevSeqno(rec);
    if (rec === undefined || recordState(rec) !== ItemState.Live) return null;
    const fromDisk = probe.diskSeqno >= 0 && !replaced;
    if (fromDisk) rec = Buffer.from(rec);
    if (this.flushBarrier.hides(rec)) {
      if (view) this.stats.get_flushed++;
      return null;
    }
    const expiry = recordExpiry(rec);
    if (expiry !== 0 && isExpired(expiry, nowSeconds())) {
      if (view) this.stats.get_expired++;
      // Reads may be served before seqnos may be issued (warmup on a full disk): then the
      // item is only hidden; its expiration comes later.
      if (this.mayExpire()) this.expire(vb, key, rec, probe);
      return null;
    }
    if (fromDisk) this.storage.keepResident(key, rec, fetch);
    if (view) fillView(view, rec);
    return rec;
  }
}
