/**
 * The resident item table: the newest record of every key with a write not yet committed
 * (dirty, pinned), plus committed live records up to a byte quota (`-m`), in front of LMDB, as
 * kv_engine's hash table keeps dirty and resident items in front of its disk.
 *
 * Why: a read answered from here costs one map lookup; from LMDB it costs a B-tree descent
 * through the memory map, which on a loaded machine is the largest single part of a GET. A
 * clean entry is also on disk, so dropping it (ejection) loses nothing; the oldest inserted go
 * first. Dirty entries are never ejected: the table is where reads find writes not yet on disk.
 *
 * Keys are the LMDB key (vbid u16 BE + key bytes) as a latin1 string. The engine keeps it
 * coherent: every write lands here at once (tombstones too), a commit turns an entry clean or
 * drops it (a tombstone, a purge), LMDB reads fill it, DEL_VBUCKET and FLUSH empty it.
 */

/** Rough per-entry cost beyond key and record bytes (map slot, string, Buffer objects). */
const ENTRY_OVERHEAD = 96;
/** Pinned entries one ejection pass may step over before giving up: a burst of uncommitted
 * writes larger than the quota must not make every insert walk all of them. The table is then
 * over quota until they commit, which it has to be anyway. */
const MAX_PINNED_SKIPPED = 64;

export class ItemCache {
  private readonly map = new Map<string, Buffer>();
  /** Bytes held, by the estimate above. */
  bytes = 0;
  ejections = 0;
  hits = 0;
  misses = 0;

  /** `isPinned(key)`: the key has a write not yet committed, so its entry must stay. */
  constructor(
    readonly quotaBytes: number,
    private readonly isPinned: (key: string) => boolean = () => false,
  ) {}

  get items(): number {
    return this.map.size;
  }

  get(key: string): Buffer | undefined {
    const rec = this.map.get(key);
    if (rec === undefined) this.misses++;
    else this.hits++;
    return rec;
  }

  /** The entry without counting a hit or miss (the engine's own bookkeeping). */
  peek(key: string): Buffer | undefined {
    return this.map.get(key);
  }

  /** Makes `record` (never modified afterwards) the key's newest record: a write, pinned until
   * its commit. */
  putDirty(key: string, record: Buffer): void {
    this.insert(key, record);
  }

  /** Keeps a committed record read from LMDB, if the quota has room for it at all. */
  putClean(key: string, record: Buffer): void {
    if (cost(key, record) > this.quotaBytes) return;
    this.insert(key, record);
  }

  /** The key's write committed: its entry is clean now, kept as the quota allows. */
  settle(key: string): void {
    const rec = this.map.get(key);
    if (rec !== undefined && cost(key, rec) > this.quotaBytes) this.delete(key);
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old === undefined) return;
    this.map.delete(key);
    this.bytes -= cost(key, old);
  }

  /** Forgets every key of one vBucket. */
  dropVBucket(vbid: number): void {
    for (const [key, rec] of this.map) {
      if (((key.charCodeAt(0) << 8) | key.charCodeAt(1)) !== vbid) continue;
      this.map.delete(key);
      this.bytes -= cost(key, rec);
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  private insert(key: string, record: Buffer): void {
    this.delete(key);
    this.map.set(key, record);
    this.bytes += cost(key, record);
    if (this.bytes > this.quotaBytes && this.quotaBytes > 0) this.eject(key);
  }

  /** Drops the oldest clean entries until under quota, never the one just inserted. */
  private eject(keep: string): void {
    let skipped = 0;
    for (const [key, rec] of this.map) {
      if (this.bytes <= this.quotaBytes) return;
      if (key === keep) continue;
      if (this.isPinned(key)) {
        if (++skipped > MAX_PINNED_SKIPPED) return;
        continue;
      }
      this.map.delete(key);
      this.bytes -= cost(key, rec);
      this.ejections++;
    }
  }
}

function cost(key: string, record: Buffer): number {
  return key.length + record.length + ENTRY_OVERHEAD;
}
