/**
 * memcached's tuning commands of the text protocol: `slabs reassign|automove`, `lru
 * tune|mode|temp_ttl` and `lru_crawler crawl|tocrawl|sleep|enable|disable` (metadump is in
 * text-dump.ts). lmcached has no slab classes and no segmented LRU (its resident table is one
 * class, 1, with a CLOCK hand), so each is checked and answered as memcached 1.6.18 answers it
 * and changes nothing, except `lru_crawler enable|disable`, which decides whether the crawler
 * commands (metadump among them) run. README lists them.
 */
import { parseDouble, parseI32, parseU32 } from '../../protocol/text-number.js';
import type { ServerContext } from './context.js';
import { MAX_CLASSES, ONLY_CLASS } from '../engine/item-class.js';

export interface AdminReply {
  reply: string;
  noreply: boolean;
}


const BAD_FORMAT = 'CLIENT_ERROR bad command line format';

/** `t`: the line's tokens; `n`: memcached's ntokens (tokens kept, plus one for the end). */
export function slabsCommand(t: readonly string[], n: number): AdminReply {
  const noreply = t[n - 2] === 'noreply';
  if (n === 5 && t[1] === 'reassign') {
    const src = parseI32(t[2]);
    const dst = parseI32(t[3]);
    if (src === null || dst === null) return { reply: BAD_FORMAT, noreply: false };
    // memcached's checks in its order (-1, pick any, finds none); there is never a spare page.
    if (src === dst) return { reply: 'SAME src and dst class are identical', noreply: false };
    if (src < 0 || src >= MAX_CLASSES || dst < 0 || dst >= MAX_CLASSES) return { reply: 'BADCLASS invalid src or dst class id', noreply: false };
    return { reply: 'NOSPARE source class has no spare pages', noreply: false };
  }
  if (n >= 4 && t[1] === 'automove') {
    if (t[2] === 'ratio') {
      return n < 5 || parseDouble(t[3]) === null ? { reply: 'ERROR', noreply } : { reply: 'OK', noreply };
    }
    const level = parseU32(t[2]);
    if (level === null) return { reply: BAD_FORMAT, noreply };
    return { reply: level <= 2 ? 'OK' : 'ERROR', noreply };
  }
  return { reply: 'ERROR', noreply: false };
}

export function lruCommand(t: readonly string[], n: number): AdminReply {
  const noreply = t[n - 2] === 'noreply';
  if (t[1] === 'tune' && n >= 7) {
    const hot = parseU32(t[2]);
    const warm = parseU32(t[3]);
    const hotFactor = parseDouble(t[4]);
    const factor = parseDouble(t[5]);
    if (hot === null || warm === null || hotFactor === null || factor === null) return { reply: 'ERROR', noreply };
    if ((hot + warm) % 2 ** 32 > 80) return { reply: 'ERROR hot and warm pcts must not exceed 80', noreply };
    if (factor <= 0 || hotFactor <= 0) return { reply: 'ERROR hot/warm age factors must be greater than 0', noreply };
    return { reply: 'OK', noreply };
  }
  if (t[1] === 'mode' && n >= 4) return { reply: t[2] === 'flat' || t[2] === 'segmented' ? 'OK' : 'ERROR', noreply };
  if (t[1] === 'temp_ttl' && n >= 4) return { reply: parseI32(t[2]) === null ? 'ERROR' : 'OK', noreply };
  return { reply: 'ERROR', noreply };
}

/** Which classes an lru_crawler command names: 'all' (all, hash, or a list with class 1),
 * 'none' (a list of classes that hold nothing here), or null (memcached's BADCLASS). */
export function crawlerClasses(arg: string): 'all' | 'none' | null {
  if (arg === 'all' || arg === 'hash') return 'all';
  let any = false;
  for (const p of arg.split(',')) {
    if (p === '') continue;
    const id = parseU32(p);
    if (id === null || id < 1 || id >= MAX_CLASSES) return null;
    if (id === ONLY_CLASS) any = true;
  }
  return any ? 'all' : 'none';
}

/** lru_crawler, all but metadump. */
export function lruCrawlerCommand(ctx: ServerContext, t: readonly string[], n: number): string {
  const settings = ctx.settings;
  if (n === 4 && t[1] === 'crawl') {
    if (!settings.lruCrawler) return 'CLIENT_ERROR lru crawler disabled';
    // memcached walks the hash table for metadump only.
    if (t[2] === 'hash') return 'ERROR an unknown error happened';
    return crawlerClasses(t[2]) === null ? 'BADCLASS invalid class id' : 'OK';
  }
  if (n === 4 && t[1] === 'tocrawl') return parseU32(t[2]) === null ? BAD_FORMAT : 'OK';
  if (n === 4 && t[1] === 'sleep') {
    const us = parseU32(t[2]);
    if (us === null) return BAD_FORMAT;
    return us > 1_000_000 ? 'CLIENT_ERROR sleep must be one second or less' : 'OK';
  }
  if (n === 3 && t[1] === 'enable') {
    if (settings.lruCrawler) return 'ERROR failed to start lru crawler thread';
    settings.lruCrawler = true;
    return 'OK';
  }
  if (n === 3 && t[1] === 'disable') {
    settings.lruCrawler = false;
    return 'OK';
  }
  return 'ERROR';
}
