/**
 * memcached's dump commands: `stats cachedump <class> <limit>` (resident items, as memcached
 * lists its LRU) and `lru_crawler metadump <classes|all|hash>` (every item, with its metadata,
 * one line each, streamed). lmcached's one class is 1 (text-admin.ts). Items come from
 * engine/item-dump.ts; a metadump first waits for every write acknowledged before it to commit,
 * then walks LMDB in chunks, waiting for the socket between them.
 */
import { parseU32 } from '../../protocol/text-number.js';
import { USER_KEY_OFFSET } from '../store/key-codec.js';
import { recordCas, recordExpiry, recordValueLength } from '../store/record.js';
import type { DumpedItem } from '../engine/item-dump.js';
import { crawlerClasses } from './text-admin.js';
import { MAX_CLASSES, ONLY_CLASS } from '../engine/item-class.js';
import { uriEncode } from '../../protocol/uri-encode.js';
import type { TextHost } from './handler-context.js';
import type { ServerContext } from './context.js';

/** memcached's cachedump reply is at most 2 MB. */
const CACHEDUMP_LIMIT = 2 * 1024 * 1024;
/** Items read from LMDB per turn of a metadump. */
const METADUMP_CHUNK = 1000;

/** One metadump line, memcached's fields: `la` is the last access (a resident item's; the last
 * write for one only on disk, which has not been read since it left memory); `size` is what
 * the item takes in LMDB (key and record). */
export function metadumpLine(item: DumpedItem): string {
  const { itemKey, record, access } = item;
  const expiry = recordExpiry(record);
  const cas = recordCas(record);
  const la = access >= 0 ? Math.floor(access / 2) : Math.floor(cas / 1e6);
  const fetched = access >= 0 && access % 2 === 1;
  const size = itemKey.length - USER_KEY_OFFSET + record.length;
  return `key=${uriEncode(itemKey.subarray(USER_KEY_OFFSET))} exp=${expiry === 0 ? -1 : expiry} la=${la} cas=${cas} fetch=${fetched ? 'yes' : 'no'} cls=${ONLY_CLASS} size=${size}\n`;
}

/** `stats cachedump <class> <limit>`: the reply lines. */
export function cachedump(ctx: ServerContext, args: readonly string[]): string[] {
  if (!ctx.settings.dumpEnabled) return ['CLIENT_ERROR stats cachedump not allowed\r\n'];
  if (args.length < 3) return ['CLIENT_ERROR bad command line\r\n'];
  const id = parseU32(args[1]);
  const limit = parseU32(args[2]);
  if (id === null || limit === null) return ['CLIENT_ERROR bad command line format\r\n'];
  if (id >= MAX_CLASSES) return ['CLIENT_ERROR Illegal slab id\r\n'];
  const out: string[] = [];
  if (id === ONLY_CLASS) {
    let bytes = 0;
    for (const [key, record] of ctx.engine.dump.resident()) {
      if (limit !== 0 && out.length >= limit) break;
      const expiry = recordExpiry(record);
      const line = `ITEM ${key.slice(USER_KEY_OFFSET)} [${recordValueLength(record)} b; ${expiry} s]\r\n`;
      if (bytes + line.length + 6 > CACHEDUMP_LIMIT) break;
      bytes += line.length;
      out.push(line);
    }
  }
  out.push('END\r\n');
  return out;
}

/** `lru_crawler metadump <classes>`: memcached's checks (`pipelined`: replies other than a
 * get's wait unsent before it), then the dump, streamed through the host's runAsync. */
export function metadump(host: TextHost, arg: string, pipelined: boolean): void {
  const { settings } = host.server;
  const refuse = (reply: string): void => host.out.ascii(`${reply}\r\n`);
  if (!settings.lruCrawler) return refuse('CLIENT_ERROR lru crawler disabled');
  if (!settings.dumpEnabled) return refuse('ERROR metadump not allowed');
  if (pipelined) return refuse('ERROR cannot pipeline other commands before metadump');
  const classes = crawlerClasses(arg);
  if (classes === null) return refuse('BADCLASS invalid class id');
  if (classes === 'none') return refuse('END');
  host.runAsync(streamMetadump(host));
}

async function streamMetadump(host: TextHost): Promise<void> {
  const dump = host.engine.dump;
  await dump.appliedSoFar();
  let after: Buffer | null = null;
  for (;;) {
    const chunk = dump.committed(after, METADUMP_CHUNK);
    for (const item of chunk.items) host.out.ascii(metadumpLine(item));
    if (chunk.next === null) break;
    after = chunk.next;
    if (!(await host.drainOutput())) return;
  }
  host.out.ascii('END\r\n');
}
