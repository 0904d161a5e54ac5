/**
 * The resident item cache: committed live records kept in memory up to a byte quota (`-m`),
 * in front of LMDB, as kv_engine's hash table keeps resident values in front of its disk.
 *
 * Why: a GET answered from here costs one map lookup; from LMDB it costs a B-tree descent
 * through the memory map, which on a loaded machine is the largest single part of a GET.
 * Every byte is also on disk, so dropping an entry (ejection) loses nothing; the oldest
 * inserted go first.
 *
 * Keys are the LMDB key (vbid u16 BE + key bytes) as a latin1 string. The engine keeps it
 * coherent: it fills entries from LMDB reads and from commits, and removes them when a commit
 * removes or tombstones the key, when a vBucket is deleted and on FLUSH.
 */

/** Rough per-entry cost beyond key and record bytes (map slot, string, Buffer objects). */
const ENTRY_OVERHEAD = 96;

export class ItemCache {
  private readonly map = new Map<string, Buffer>();
  /** Bytes held, by the estimate above. */
  bytes = 0;
  ejections = 0;
  hits = 0;
  misses = 0;

  constructor(readonly quotaBytes: number) {}

  get items(): number {
    return this.map.size;
  }

  get(key: string): Buffer | undefined {
    const rec = this.map.get(key);
    if (rec === undefined) this.misses++;
    else this.hits++;
    return rec;
  }

  /** Keeps `record` (which must never be modified afterwards) as the key's committed record. */
  put(key: string, record: Buffer): void {
    if (this.quotaBytes === 0) return;
    this.delete(key);
    const size = cost(key, record);
    if (size > this.quotaBytes) return;
    this.map.set(key, record);
    this.bytes += size;
    if (this.bytes > this.quotaBytes) this.eject(key);
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

  /** Drops the oldest entries until under quota, never the one just inserted. */
  private eject(keep: string): void {
    for (const [key, rec] of this.map) {
      if (this.bytes <= this.quotaBytes) return;
      if (key === keep) continue;
      this.map.delete(key);
      this.bytes -= cost(key, rec);
      this.ejections++;
    }
  }
}

function cost(key: string, record: Buffer): number {
  return key.length + record.length + ENTRY_OVERHEAD;
}
