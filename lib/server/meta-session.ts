/**
 * memcached's meta commands on a text connection, with memcached 1.6.18's replies: mn; me;
 * mg (hit: HD or VA <size> and the value; miss: EN) with b c f k O q s t v T u; ms <key>
 * <size> (HD NS EX NF) with b c C F k O q T and the modes M E A P R S; md (HD NF EX) with
 * b C k O q; ma (HD or VA with the number, NF NS EX) with b C N J D T M q O t c v k.
 * Stale-while-revalidate: mg N (vivify on miss) and R (recache), md I and ms I (invalidate),
 * with W, Z and X in replies; the state lives in meta-state.ts. Keys live in vBucket 0 like the
 * rest of the text protocol. h and l come from the resident table (ItemCache.access): an item
 * only on disk has not been fetched since it was loaded, and was last accessed when written.
 */
import { WATCH, ttlOf } from './watch-log.js';
import { META_MAX_OPAQUE, META_MAX_TOKENS, decodeBase64Key, parseMetaFlags, type MetaFlags } from '../../protocol/meta-command.js';
import { parseI32 } from '../../protocol/text-number.js';
import { KEY_MAX_LENGTH } from '../../protocol/validate.js';
import { Outcome } from '../engine/outcome.js';
import { StoreMode, type KeyRef } from '../engine/requests.js';
import type { TextHost } from './handler-context.js';
import { coarseSeconds } from '../engine/coarse-clock.js';

const BAD_FORMAT = 'CLIENT_ERROR bad command line format';

/** What the session does next: read a data block, skip one, or nothing. */
export type MetaStep = { read: number } | { skip: number } | null;

interface PendingSet {
  key: KeyRef;
  keyText: string;
  f: MetaFlags;
  size: number;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** l and me's la: seconds since the last access, on the coarse clock the resident table stamps
 * accesses with (a precise clock would read up to a second ahead of it). `access` is
 * ItemCache.access's packed value (-1: not resident; then the write time, from the CAS, which
 * is microseconds since the epoch); an item this very request made was accessed now. */
function secondsSinceAccess(access: number, cas: number, justCreated = false): number {
  if (justCreated) return 0;
  const at = access >= 0 ? Math.floor(access / 2) : Math.floor(cas / 1e6);
  return Math.max(0, coarseSeconds() - at);
}
const EMPTY = Buffer.alloc(0);

export class MetaSession {
  private pending: PendingSet | null = null;

  constructor(private readonly host: TextHost) {}

  get waiting(): boolean {
    return this.pending !== null;
  }

  private line(text: string): void {
    this.host.out.ascii(`${text}\r\n`);
  }

  /** One meta command line (tokens, the command first). */
  run(t: string[]): MetaStep {
    this.host.server.counters.cmd_meta++;
    const n = t.length + 1;
    switch (t[0]) {
      case 'mn':
        this.line('MN');
        return null;
      case 'me':
        this.me(t);
        return null;
    }
    if (n < 3) {
      this.line('ERROR');
      return null;
    }
    if (t[1].length > KEY_MAX_LENGTH) {
      this.line(BAD_FORMAT);
      return null;
    }
    switch (t[0]) {
      case 'mg':
        return this.mg(t, n);
      case 'ms':
        return this.ms(t, n);
      case 'md':
        return this.md(t, n);
      default:
        return this.ma(t, n);
    }
  }

  /** The flags of a command; null (an error line written) when they do not parse. */
  private flags(t: string[], start: number, n: number, tooLong: string, anyError?: string): MetaFlags | null {
    if (n > META_MAX_TOKENS) {
      this.line(tooLong);
      return null;
    }
    const f = parseMetaFlags(t.slice(start), BAD_FORMAT);
    if ('error' in f) {
      this.line(anyError ?? f.error);
      return null;
    }
    if (f.tokens.some((x) => x[0] === 'O' && x.length > META_MAX_OPAQUE)) {
      this.line('CLIENT_ERROR opaque token too long');
      return null;
    }
    return f;
  }

  /** The key (base64-decoded with b); null (an error line written) when it does not decode. */
  private key(token: string, f: MetaFlags): KeyRef | null {
    const buf = f.base64 ? decodeBase64Key(token) : Buffer.from(token, 'latin1');
    if (buf === null) {
      this.line('CLIENT_ERROR error decoding key');
      return null;
    }
    return { vbid: 0, buf, offset: 0, length: buf.length };
  }

  /** The flags every reply echoes: O (opaque) and k (the key, and b if it came in base64). */
  private echo(f: MetaFlags, keyText: string, also: (c: string) => string = () => ''): string {
    let out = '';
    for (const token of f.tokens) {
      const c = token[0];
      if (c === 'O') out += ` ${token}`;
      else if (c === 'k') out += ` k${keyText}${f.base64 ? ' b' : ''}`;
      else out += also(c);
    }
    return out;
  }

  private mg(t: string[], n: number): MetaStep {
    const f = this.flags(t, 2, n, 'CLIENT_ERROR options flags are too long');
    const key = f === null ? null : this.key(t[1], f);
    if (f === null || key === null) return null;
    const { engine, view, result } = this.host;
    const states = this.host.server.metaStates;
    const stateKey = key.buf.toString('latin1');
    // h and l report the item as it was before this read.
    const access = f.seen.has('h') || f.seen.has('l') ? engine.accessOf(key) : -1;
    let o = engine.get(key, view, !f.seen.has('u'));
    const watch = this.host.server.watch;
    if ((watch.flags & WATCH.fetchers) !== 0) watch.itemGet(key.buf.subarray(key.offset, key.offset + key.length), o === Outcome.Success, view.valueLength);
    let created = false;
    if (o === Outcome.NotFound && f.vivify !== null) {
      // N: a miss creates an empty item with that TTL, and this client wins the right to fill it.
      o = engine.store({ mode: StoreMode.Add, key, flags: 0, exptime: f.vivify, cas: 0, value: EMPTY, valueOffset: 0, valueLength: 0, datatype: 0 }, result);
      if (o === Outcome.Success) {
        this.held(o);
        created = true;
        o = engine.get(key, view);
      }
    }
    if (o !== Outcome.Success) {
      if (o === Outcome.NotFound) {
        if (!f.quiet) this.line(`EN${this.echo(f, t[1])}`);
      } else {
        this.line(`SERVER_ERROR ${o === Outcome.TempFail ? 'temporary failure' : 'vbucket 0 is not active'}`);
      }
      return null;
    }
    const state = states.get(stateKey, view.cas);
    const expiryBefore = view.expiry;
    if (f.ttl !== null && engine.touch(key, f.ttl, view, result) === Outcome.Success) this.held(Outcome.Success);
    const now = nowSeconds();
    // R: a hit whose TTL left is under R wins a recache, once.
    let won = created || (f.recache !== null && state?.tokenSent !== true && expiryBefore !== 0 && expiryBefore < now + f.recache);
    const ttl = view.expiry === 0 ? -1 : Math.max(0, view.expiry - now);
    let flags = this.echo(f, t[1], (c) => {
      if (c === 's') return ` s${view.valueLength}`;
      if (c === 't') return ` t${ttl}`;
      if (c === 'c') return ` c${view.cas}`;
      if (c === 'f') return ` f${view.flags}`;
      if (c === 'h') return ` h${access >= 0 && !created ? access % 2 : 0}`;
      if (c === 'l') return ` l${secondsSinceAccess(access, view.cas, created)}`;
      return '';
    });
    // memcached's order: Z (another client holds the token), X (stale), W (this one won).
    if (state?.tokenSent === true) flags += ' Z';
    if (state?.stale === true) {
      flags += ' X';
      if (!state.tokenSent) won = true;
    }
    if (won) {
      flags += ' W';
      states.set(stateKey, { cas: view.cas, stale: state?.stale === true, tokenSent: true });
    }
    const out = this.host.out;
    if (!f.value) {
      this.line(`HD${flags}`);
      return null;
    }
    out.ascii(`VA ${view.valueLength}${flags}\r\n`);
    out.bytesFrom(view.value, view.valueData, view.valueOffset, view.valueLength, true);
    out.ascii('\r\n');
    return null;
  }

  /** ms: the line is read here, the data block by `data`. */
  private ms(t: string[], n: number): MetaStep {
    if (n === 3) {
      this.line(BAD_FORMAT);
      return null;
    }
    if (n > META_MAX_TOKENS) {
      this.line('CLIENT_ERROR options flags too long');
      return null;
    }
    const size = parseI32(t[2]);
    if (size === null || size < 0 || size > 0x7fffffff - 2) {
      this.line(BAD_FORMAT);
      return null;
    }
    const f = this.flags(t, 3, n, 'CLIENT_ERROR options flags too long');
    const key = f === null ? null : this.key(t[1], f);
    if (f === null || key === null) return { skip: size + 2 };
    if (f.mode !== null && !'EAPRS'.includes(f.mode)) {
      this.line('CLIENT_ERROR invalid mode for ms M token');
      return { skip: size + 2 };
    }
    if (size > this.host.server.settings.maxItemSize) {
      this.host.server.counters.store_too_large++;
      this.line('SERVER_ERROR object too large for cache');
      if ((f.mode ?? 'S') === 'S') this.host.engine.dropForOversizedSet(key);
      return { skip: size + 2 };
    }
    this.pending = { key, keyText: t[1], f, size };
    return { read: size };
  }

  /** ms's data block. */
  data(buf: Buffer, start: number, length: number, ok: boolean): void {
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    if (!ok) {
      this.line('CLIENT_ERROR bad data chunk');
      return;
    }
    const { engine, result } = this.host;
    const { f, key } = p;
    const mode = f.mode ?? 'S';
    const cas = f.compareCas === null ? 0 : Number(f.compareCas);
    if (f.seen.has('I') && cas !== 0 && (mode === 'S' || mode === 'R')) return this.staleSet(p, buf, start, length, cas);
    let o: Outcome;
    if (mode === 'A' || mode === 'P') {
      o = engine.concat({ append: mode === 'A', key, cas, value: buf, valueOffset: start, valueLength: length }, result);
    } else {
      const storeMode = mode === 'E' ? StoreMode.Add : mode === 'R' ? StoreMode.Replace : StoreMode.Set;
      o = engine.store({ mode: storeMode, key, flags: f.clientFlags, exptime: f.ttl ?? 0, cas: mode === 'E' ? 0 : cas, value: buf, valueOffset: start, valueLength: length, datatype: 0 }, result);
    }
    this.held(o);
    const watch = this.host.server.watch;
    if ((watch.flags & WATCH.mutations) !== 0) {
      const cmd = mode === 'E' ? 'add' : mode === 'A' ? 'append' : mode === 'P' ? 'prepend' : cas !== 0 ? 'cas' : mode === 'R' ? 'replace' : 'set';
      watch.itemStore(key.buf.subarray(key.offset, key.offset + key.length), o, cmd, result, ttlOf(f.ttl ?? 0), length);
    }
    // An add (E) of a present key is NOT_STORED in memcached, not a CAS conflict.
    const code = o === Outcome.Success ? 'HD' : o === Outcome.Exists ? (mode === 'E' ? 'NS' : 'EX') : o === Outcome.NotFound ? (mode === 'R' && cas === 0 ? 'NS' : 'NF') : o === Outcome.NotStored ? 'NS' : null;
    if (code === null) {
      this.line(o === Outcome.TooLarge ? 'SERVER_ERROR object too large for cache' : o === Outcome.WritesBlocked ? 'SERVER_ERROR out of memory storing object' : 'SERVER_ERROR temporary failure');
      return;
    }
    if (code === 'HD' && f.quiet) return;
    this.line(`${code}${this.echo(f, p.keyText, (c) => (c === 'c' ? ` c${code === 'HD' ? result.cas : 0}` : ''))}`);
  }

  /** ms with I and C: memcached's CAS_STALE. A CAS older than the item's still stores, as a
   * stale item (keeping the old TTL and win token); the same CAS stores as usual. */
  private staleSet(p: PendingSet, buf: Buffer, start: number, length: number, cas: number): void {
    const { engine, result, view } = this.host;
    const states = this.host.server.metaStates;
    const stateKey = p.key.buf.toString('latin1');
    const found = engine.get(p.key, view);
    let code = 'NF';
    if (found === Outcome.Success && (cas === view.cas || cas < view.cas)) {
      const stale = cas !== view.cas;
      const old = states.get(stateKey, view.cas);
      const o = engine.store({ mode: StoreMode.Set, key: p.key, flags: p.f.clientFlags, exptime: stale ? view.expiry : (p.f.ttl ?? 0), cas: view.cas, value: buf, valueOffset: start, valueLength: length, datatype: 0 }, result);
      this.held(o);
      code = o === Outcome.Success ? 'HD' : 'EX';
      if (o === Outcome.Success && stale) states.set(stateKey, { cas: result.cas, stale: true, tokenSent: old?.tokenSent === true });
    } else if (found === Outcome.Success) {
      code = 'EX';
    }
    if (code === 'HD' && p.f.quiet) return;
    this.line(`${code}${this.echo(p.f, p.keyText, (c) => (c === 'c' ? ` c${code === 'HD' ? result.cas : 0}` : ''))}`);
  }

  private md(t: string[], n: number): MetaStep {
    const f = this.flags(t, 2, n, 'CLIENT_ERROR options flags too long', 'CLIENT_ERROR invalid or duplicate flag');
    const key = f === null ? null : this.key(t[1], f);
    if (f === null || key === null) return null;
    if (f.seen.has('I')) return this.invalidate(t, f, key);
    const o = this.host.engine.delete(key, f.compareCas === null ? 0 : Number(f.compareCas), this.host.result);
    this.held(o);
    const code = o === Outcome.Success ? 'HD' : o === Outcome.NotFound ? 'NF' : o === Outcome.Exists ? 'EX' : null;
    if (code === null) this.line('SERVER_ERROR temporary failure');
    else if (!(code === 'HD' && f.quiet)) this.line(`${code}${this.echo(f, t[1])}`);
    return null;
  }

  private ma(t: string[], n: number): MetaStep {
    const f = this.flags(t, 2, n, 'CLIENT_ERROR options flags too long', 'CLIENT_ERROR invalid or duplicate flag');
    const key = f === null ? null : this.key(t[1], f);
    if (f === null || key === null) return null;
    if (f.mode !== null && !'I+D-'.includes(f.mode)) {
      this.line('CLIENT_ERROR invalid mode for ma M token');
      return null;
    }
    const { engine, result, view } = this.host;
    const incr = f.mode === null || f.mode === 'I' || f.mode === '+';
    const o = engine.arith({ incr, key, delta: f.delta, initial: f.initial, exptime: f.vivify ?? 0, create: f.vivify !== null, cas: f.compareCas === null ? 0 : Number(f.compareCas) }, result);
    this.held(o);
    if (o === Outcome.NonNumeric) return this.line('CLIENT_ERROR cannot increment or decrement non-numeric value'), null;
    if (o !== Outcome.Success) {
      const code = o === Outcome.NotFound ? 'NF' : o === Outcome.Exists ? 'EX' : o === Outcome.NotStored ? 'NS' : null;
      if (code === null) this.line('SERVER_ERROR temporary failure');
      else this.line(`${code}${this.echo(f, t[1])}`);
      return null;
    }
    const counter = result.counter.toString();
    let cas = result.cas;
    // T: the counter's TTL changes too (memcached sets it on the item it answers).
    if (f.ttl !== null && engine.touch(key, f.ttl, view, result) === Outcome.Success) {
      this.held(Outcome.Success);
      cas = result.cas;
    }
    if (f.quiet) return null;
    const needsView = f.seen.has('t');
    if (needsView) engine.get(key, view);
    const ttl = view.expiry === 0 ? -1 : Math.max(0, view.expiry - nowSeconds());
    const flags = this.echo(f, t[1], (c) => (c === 'c' ? ` c${cas}` : c === 't' ? ` t${ttl}` : ''));
    if (f.value) this.line(`VA ${counter.length}${flags}\r\n${counter}`);
    else this.line(`HD${flags}`);
    return null;
  }

  /** md I: the item stays, marked stale, with a new CAS (and T's TTL); the next mg wins. */
  private invalidate(t: string[], f: MetaFlags, key: KeyRef): MetaStep {
    const { engine, view, result } = this.host;
    const found = engine.get(key, view);
    let code = found === Outcome.Success ? 'HD' : 'NF';
    if (found === Outcome.Success && f.compareCas !== null && Number(f.compareCas) !== view.cas) code = 'EX';
    if (code === 'HD') {
      // The same value, flags and TTL stored again: a new CAS, as memcached gives it.
      const value = Buffer.from(view.value.subarray(view.valueOffset, view.valueOffset + view.valueLength));
      const o = engine.store({ mode: StoreMode.Set, key, flags: view.flags, exptime: f.ttl ?? view.expiry, cas: view.cas, value, valueOffset: 0, valueLength: value.length, datatype: view.datatype }, result);
      this.held(o);
      if (o === Outcome.Success) this.host.server.metaStates.set(key.buf.toString('latin1'), { cas: result.cas, stale: true, tokenSent: false });
      else code = 'EX';
    }
    if (!(code === 'HD' && f.quiet)) this.line(`${code}${this.echo(f, t[1])}`);
    return null;
  }

  /** me <key> [b]: memcached's debug line. */
  private me(t: string[]): void {
    if (t.length < 2 || t[1].length > KEY_MAX_LENGTH) return this.line(BAD_FORMAT);
    const base64 = t.length >= 3 && t[2] === 'b';
    const buf = base64 ? decodeBase64Key(t[1]) : Buffer.from(t[1], 'latin1');
    if (buf === null) return this.line(BAD_FORMAT);
    const { engine, view } = this.host;
    const key = { vbid: 0, buf, offset: 0, length: buf.length };
    const access = engine.accessOf(key);
    if (engine.get(key, view, false) !== Outcome.Success) return this.line('EN');
    const exp = view.expiry === 0 ? -1 : view.expiry - nowSeconds();
    this.line(`ME ${t[1]} exp=${exp} la=${secondsSinceAccess(access, view.cas)} cas=${view.cas} fetch=${access >= 0 && access % 2 === 1 ? 'yes' : 'no'} cls=1 size=${view.valueLength}`);
  }

  /** In --ack=persist mode a write's reply waits for its commit. */
  private held(o: Outcome): void {
    if (o === Outcome.Success) this.host.holdUntil(this.host.result.batch);
  }
}
