/**
 * Touching the memory a chunk's requests are about to read, all of their keys at once. A read
 * or write of a random key of a large table misses the cache three times in a row (its bucket,
 * its entry's words, its record), each waiting for the one before: about a quarter of a pipelined
 * SET's own work on the event loop (bench/RESULTS.md, session 35). Touched a step at a time for
 * every key of the chunk, the misses of different keys overlap, and the requests then find
 * their lines in cache. Only reads: nothing here changes the table.
 *
 * The hashes are kept while the chunk is framed: a lookup of one of its keys, where it lies in
 * the chunk, takes its hash from here instead of hashing the key a second time. Only until the
 * chunk's drain is over (`run` with no keys): the buffer is reused after, and a stale hash
 * would miss a key that is there.
 */
import { MOST_REQUEST_KEYS, type RequestKeys } from '../../protocol/request-keys.js';
import type { BucketTable } from './bucket-table.js';
import type { EntryRecords } from './entry-records.js';
import { hashItemKey } from './key-hash.js';

export class KeyPrefetch {
  private readonly hashes = new Int32Array(MOST_REQUEST_KEYS);
  private readonly entries = new Int32Array(MOST_REQUEST_KEYS);
  /** The chunk being framed and where its keys lie (null: none), and the first key a lookup
   * may still ask for (lookups come in the chunk's order). */
  private chunk: Uint8Array | null = null;
  private readonly vbids = new Int32Array(MOST_REQUEST_KEYS);
  private readonly offsets = new Int32Array(MOST_REQUEST_KEYS);
  private readonly lengths = new Int32Array(MOST_REQUEST_KEYS);
  private count = 0;
  private next = 0;
  /** What the touches read, kept so the compiler cannot drop the loads. */
  sink = 0;

  constructor(
    private readonly table: BucketTable,
    private readonly records: EntryRecords,
  ) {}

  /** Touches what the keys in `keys` (in `buf`) will read, and keeps their hashes while `buf`
   * is framed; `keys` empty: that chunk is framed, its hashes go. */
  run(buf: Uint8Array, keys: RequestKeys): void {
    const n = keys.count;
    this.chunk = n > 0 ? buf : null;
    this.count = n;
    this.next = 0;
    const hashes = this.hashes;
    for (let i = 0; i < n; i++) {
      const vbid = keys.vbid[i];
      const offset = keys.offset[i];
      const length = keys.length[i];
      hashes[i] = hashItemKey(vbid, buf, offset, length);
      this.vbids[i] = vbid;
      this.offsets[i] = offset;
      this.lengths[i] = length;
    }
    if (n === 0) return;
    this.sink ^= this.table.touchHomes(hashes, n, this.entries);
    this.sink ^= this.records.touch(this.entries, n);
  }

  /** hashItemKey of the client key `buf[offset, +length)` in vBucket `vbid`: the chunk's own
   * when it is one of its keys. */
  hashOf(vbid: number, buf: Uint8Array, offset: number, length: number): number {
    if (buf === this.chunk) {
      const offsets = this.offsets;
      let i = this.next;
      while (i < this.count && offsets[i] < offset) i++;
      this.next = i;
      if (i < this.count && offsets[i] === offset && this.lengths[i] === length && this.vbids[i] === vbid) return this.hashes[i];
    }
    return hashItemKey(vbid, buf, offset, length);
  }
}
