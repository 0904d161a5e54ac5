/**
 * Touching the memory a chunk's requests are about to read, all of their keys at once. A read
 * or write of a random key of a large table misses the cache three times in a row (its bucket,
 * its entry's words, its record), each waiting for the one before: about a quarter of a pipelined
 * SET's own work on the event loop (bench/RESULTS.md, session 35). Touched a step at a time for
 * every key of the chunk, the misses of different keys overlap, and the requests then find
 * their lines in cache. Only reads: nothing here changes the table.
 */
import { MOST_REQUEST_KEYS, type RequestKeys } from '../../protocol/request-keys.js';
import type { BucketTable } from './bucket-table.js';
import type { EntryRecords } from './entry-records.js';
import { hashItemKey } from './key-hash.js';

export class KeyPrefetch {
  private readonly hashes = new Int32Array(MOST_REQUEST_KEYS);
  private readonly entries = new Int32Array(MOST_REQUEST_KEYS);
  /** What the touches read, kept so the compiler cannot drop the loads. */
  sink = 0;

  constructor(
    private readonly table: BucketTable,
    private readonly records: EntryRecords,
  ) {}

  /** Touches what the keys in `keys` (in `buf`) will read. */
  run(buf: Uint8Array, keys: RequestKeys): void {
    const n = keys.count;
    const hashes = this.hashes;
    for (let i = 0; i < n; i++) hashes[i] = hashItemKey(keys.vbid[i], buf, keys.offset[i], keys.length[i]);
    this.sink ^= this.table.touchHomes(hashes, n, this.entries);
    this.sink ^= this.records.touch(this.entries, n);
  }
}
