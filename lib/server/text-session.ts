/**
 * memcached's text protocol on the same port (memcached picks the protocol by a connection's
 * first byte; 0x80 means binary). Lines are framed and parsed in protocol/ (ascii-framer.ts,
 * text-command.ts); this runs each command on the engine and answers with the replies of
 * outcome-status.ts: get, gets, gat, gats, set, add, replace, append, prepend, cas, delete,
 * incr, decr, touch, flush_all, version, verbosity, stats (text-stats.ts), cache_memlimit,
 * shutdown (-A), refresh_certs and quit, with noreply. Keys live in vBucket 0.
 */
import { ASCII_SKIP, AsciiFramer } from '../../protocol/ascii-framer.js';
import { parseTextCommand, type TextCommand } from '../../protocol/text-command.js';
import { Outcome } from '../engine/outcome.js';
import { StoreMode, type KeyRef } from '../engine/requests.js';
import { log, setVerbosity } from '../log.js';
import type { TextHost } from './handler-context.js';
import { MetaSession } from './meta-session.js';
import { textReplyOf } from './outcome-status.js';
import { setMemoryLimit, textStats } from './text-stats.js';
import { AsciiAuthGate } from './ascii-auth.js';
import { lruCommand, lruCrawlerCommand, slabsCommand } from './text-admin.js';
import { metadump } from './text-dump.js';
import { WATCH, ttlOf, watchFlags } from './watch-log.js';

export type { TextHost } from './handler-context.js';

type StoreCommand = Extract<TextCommand, { kind: 'store' }>;
type AdminCommand = Extract<TextCommand, { kind: 'admin' }>;

function keyRef(text: string): KeyRef {
  const buf = Buffer.from(text, 'latin1');
  return { vbid: 0, buf, offset: 0, length: buf.length };
}

export class TextSession {
  readonly framer: AsciiFramer;
  /** A storage command waiting for its data block. */
  private pending: StoreCommand | null = null;
  /** -Y: the authentication every command waits for; null once passed or without -Y. */
  private gate: AsciiAuthGate | null;
  /** The gate's `set` waits for its data block. */
  private gatePending = false;
  /** -S without -Y: text connections are refused, as memcached refuses them. */
  private readonly refused: boolean;
  private readonly meta: MetaSession;
  /** Whether the previous command was a get, and whether replies wait unsent behind others. */
  private afterGet = false;
  private pipelined = false;

  constructor(
    private readonly host: TextHost,
    peer = '',
  ) {
    this.gate = host.server.settings.authFile === null ? null : new AsciiAuthGate(host.server, peer);
    this.refused = this.gate === null && host.server.sasl !== null;
    this.meta = new MetaSession(host);
    this.framer = new AsciiFramer({
      line: (buf, start, end) => this.line(buf.toString('latin1', start, end)),
      data: (buf, start, length, ok) => this.data(buf, start, length, ok),
      // 2 KiB without a line end that is not a get (or a get line over 2 MiB): memcached
      // closes the connection without a word.
      tooLong: () => this.host.closeAfterWrite(),
    });
  }

  private reply(text: string, noreply = false): void {
    if (!noreply) this.host.out.ascii(`${text}\r\n`);
  }

  /** Runs one line; returns what the framer expects next (see AsciiSink.line). */
  private line(text: string): number | false {
    if (this.gate !== null) return this.gateLine(this.gate, text);
    if (this.refused) {
      // The text protocol has no SASL, so it would be a way around it.
      this.reply('CLIENT_ERROR unauthenticated');
      this.host.closeAfterWrite();
      return false;
    }
    const c = parseTextCommand(text);
    const { engine, result } = this.host;
    // memcached refuses watch and metadump behind replies still unsent, except a get's.
    this.pipelined = this.host.out.pending > 0 && !this.afterGet;
    this.afterGet = c.kind === 'get';
    switch (c.kind) {
      case 'error':
        this.reply(c.reply, c.noreply);
        return -1;
      case 'get':
        return this.get(c.keys, c.withCas, c.touch);
      case 'store':
        return this.storage(c);
      case 'delete': {
        const o = engine.delete(keyRef(c.key), 0, result);
        this.written(o);
        this.reply(textReplyOf(o, 'delete'), c.noreply);
        return -1;
      }
      case 'arith': {
        const o = engine.arith({ incr: c.incr, key: keyRef(c.key), delta: c.delta, initial: 0n, exptime: 0, create: false, cas: 0 }, result);
        this.written(o);
        this.reply(o === Outcome.Success ? result.counter.toString() : textReplyOf(o, 'arith'), c.noreply);
        return -1;
      }
      case 'touch': {
        const key = keyRef(c.key);
        const o = engine.touch(key, c.exptime, this.host.view, result);
        const watch = this.host.server.watch;
        if ((watch.flags & WATCH.fetchers) !== 0) watch.itemGet(key.buf, o === Outcome.Success, this.host.view.valueLength);
        this.written(o);
        this.reply(textReplyOf(o, 'touch'), c.noreply);
        return -1;
      }
      case 'flush_all': {
        const o = engine.flush(c.delay, result);
        this.written(o);
        this.reply(textReplyOf(o, 'flush_all'), c.noreply);
        return -1;
      }
      case 'version':
        this.reply(`VERSION ${this.host.server.version}`);
        return -1;
      case 'verbosity':
        this.host.server.verbosity = c.level;
        setVerbosity(c.level);
        this.reply('OK', c.noreply);
        return -1;
      case 'stats':
        for (const line of textStats(this.host.server, c.args)) this.host.out.ascii(line);
        return -1;
      case 'quit':
      case 'close':
        this.host.closeAfterWrite();
        return false;
      case 'shutdown':
        return this.shutdown(c.mode);
      case 'cache_memlimit':
        this.reply(setMemoryLimit(this.host.server, c.megabytes), c.noreply);
        return -1;
      case 'refresh_certs': {
        // memcached's replies: OK, or its error text as is.
        const error = this.host.server.settings.enableSsl ? this.host.server.refreshCerts() : 'TLS not enabled';
        if (error === null) this.reply('OK', c.noreply);
        else this.reply(`Error ${error}`);
        return -1;
      }
      case 'admin':
        return this.admin(c);
      case 'meta': {
        const step = this.meta.run(c.tokens);
        if (step === null) return -1;
        if ('read' in step) return step.read;
        this.framer.skipBytes(step.skip);
        return ASCII_SKIP;
      }
    }
  }

  /** slabs, lru, lru_crawler (metadump streams its reply) and watch. */
  private admin(c: AdminCommand): number | false {
    const { tokens: t, n } = c;
    switch (c.cmd) {
      case 'slabs':
      case 'lru': {
        const r = c.cmd === 'slabs' ? slabsCommand(t, n) : lruCommand(t, n);
        this.reply(r.reply, r.noreply);
        return -1;
      }
      case 'lru_crawler':
        if (n === 4 && t[1] === 'metadump') metadump(this.host, t[2], this.pipelined);
        else this.reply(lruCrawlerCommand(this.host.server, t, n));
        return -1;
      case 'watch':
        return this.watch(t, n);
    }
  }

  /** memcached's watch: OK, then log lines until the client goes; input is ignored. */
  private watch(t: readonly string[], n: number): number | false {
    const noreply = t[n - 2] === 'noreply';
    if (!this.host.server.settings.watchEnabled) {
      this.reply('CLIENT_ERROR watch commands not allowed', noreply);
      return -1;
    }
    if (this.pipelined) {
      this.reply('ERROR cannot pipeline other commands before watch', noreply);
      return -1;
    }
    // memcached reads every token as a flag, noreply too (whose ERROR noreply then silences).
    const flags = watchFlags(n > 2 ? t.slice(1, n - 1) : []);
    if (flags === null) {
      this.reply('ERROR', noreply);
      return -1;
    }
    if (!this.host.startWatch(flags)) {
      this.reply('WATCHER_TOO_MANY log watcher limit reached', noreply);
      return -1;
    }
    return false;
  }

  private gateLine(gate: AsciiAuthGate, text: string): number {
    const step = gate.line(text);
    if ('read' in step) {
      this.gatePending = true;
      return step.read;
    }
    this.reply(step.reply);
    if ('skip' in step) {
      this.framer.skipBytes(step.skip);
      return ASCII_SKIP;
    }
    return -1;
  }

  /** memcached's -A: shutdown (and shutdown graceful) stop the server as SIGTERM does. */
  private shutdown(mode: 'now' | 'graceful' | 'invalid'): number | false {
    if (!this.host.server.settings.enableShutdown) {
      this.reply('ERROR: shutdown not enabled');
      return -1;
    }
    if (mode === 'invalid') {
      this.reply('CLIENT_ERROR invalid shutdown mode');
      return -1;
    }
    log.info(`text command: shutdown${mode === 'graceful' ? ' graceful' : ''}`);
    this.host.closeAfterWrite();
    process.kill(process.pid, 'SIGTERM');
    return false;
  }

  /** In --ack=persist mode a successful write's reply waits for its commit. */
  private written(o: Outcome): void {
    if (o === Outcome.Success) this.host.holdUntil(this.host.result.batch);
  }

  /** get/gets, and gat/gats when `touch` holds the new expiry. Keys were checked by the
   * parser: memcached answers a bad one with an error alone. */
  private get(keys: string[], withCas: boolean, touch: number | null): number {
    const { engine, out, view, result } = this.host;
    const watch = this.host.server.watch;
    for (const k of keys) {
      const key = keyRef(k);
      const o = touch === null ? engine.get(key, view) : engine.touch(key, touch, view, result);
      if ((watch.flags & WATCH.fetchers) !== 0) watch.itemGet(key.buf, o === Outcome.Success, view.valueLength);
      if (o === Outcome.NotFound) continue;
      // Not a miss: warming up, or vBucket 0 not active. Say so instead of a silent END.
      if (o !== Outcome.Success) {
        this.reply(textReplyOf(o, 'get'));
        return -1;
      }
      if (touch !== null) this.written(o);
      out.ascii(`VALUE ${k} ${view.flags} ${view.valueLength}${withCas ? ` ${view.cas}` : ''}\r\n`);
      out.bytesFrom(view.value, view.valueData, view.valueOffset, view.valueLength, true);
      out.ascii('\r\n');
    }
    this.reply('END');
    return -1;
  }

  private storage(c: StoreCommand): number {
    if (c.bytes > this.host.server.settings.maxItemSize) {
      this.host.server.counters.store_too_large++;
      // memcached: refuse, swallow the data block, and a set drops the old item.
      if (c.cmd === 'set') this.host.engine.dropForOversizedSet(keyRef(c.key));
      this.reply('SERVER_ERROR object too large for cache', c.noreply);
      this.framer.skipBytes(c.bytes + 2);
      return ASCII_SKIP;
    }
    this.pending = c;
    return c.bytes;
  }

  private data(buf: Buffer, start: number, length: number, ok: boolean): boolean {
    if (this.gatePending && this.gate !== null) {
      this.gatePending = false;
      this.reply(this.gate.data(buf.subarray(start, start + length), ok));
      if (this.gate.authenticated) this.gate = null;
      return true;
    }
    if (this.meta.waiting) {
      this.meta.data(buf, start, length, ok);
      return true;
    }
    const c = this.pending;
    this.pending = null;
    if (c === null) return true;
    if (!ok) {
      this.reply('CLIENT_ERROR bad data chunk');
      return true;
    }
    const { engine, result } = this.host;
    const key = keyRef(c.key);
    let o: Outcome;
    if (c.cmd === 'cas' && c.cas === 0n) {
      // memcached compares 0 like any unique: no item has it, so EXISTS (or NOT_FOUND).
      const found = engine.get(key, this.host.view);
      this.reply(found === Outcome.Success ? 'EXISTS' : textReplyOf(found === Outcome.NotFound ? Outcome.NotFound : found, 'cas'), c.noreply);
      return true;
    }
    if (c.cmd === 'append' || c.cmd === 'prepend') {
      o = engine.concat({ append: c.cmd === 'append', key, cas: 0, value: buf, valueOffset: start, valueLength: length }, result);
    } else {
      const mode = c.cmd === 'add' ? StoreMode.Add : c.cmd === 'replace' ? StoreMode.Replace : StoreMode.Set;
      o = engine.store({ mode, key, flags: c.flags, exptime: c.exptime, cas: Number(c.cas), value: buf, valueOffset: start, valueLength: length, datatype: 0 }, result);
    }
    this.written(o);
    const watch = this.host.server.watch;
    if ((watch.flags & WATCH.mutations) !== 0) watch.itemStore(key.buf, o, c.cmd, result, ttlOf(c.exptime), length);
    this.reply(textReplyOf(o, c.cmd === 'cas' ? 'cas' : 'store'), c.noreply);
    return true;
  }
}
