/**
 * memcached's text protocol on the same port (memcached picks the protocol by a connection's
 * first byte; 0x80 means binary). It reuses the engine unchanged, mapping outcomes to the text
 * replies: get, gets, set, add, replace, append, prepend, cas, delete, incr, decr, touch,
 * flush_all, version, verbosity, stats and quit, with noreply. Keys live in vBucket 0.
 */
import { ASCII_SKIP, AsciiFramer } from '../../protocol/ascii-framer.js';
import { KEY_MAX_LENGTH } from '../../protocol/validate.js';
import { StoreMode, type KeyRef } from '../engine/engine.js';
import { Outcome } from '../engine/outcome.js';
import { setVerbosity } from '../log.js';
import type { Connection } from './connection.js';
import { generalStats } from './handlers/stat.js';

interface PendingStore {
  cmd: string;
  key: KeyRef;
  flags: number;
  exptime: number;
  cas: number;
  noreply: boolean;
}

const NUMBER = /^\d+$/;

export class AsciiSession {
  readonly framer: AsciiFramer;
  private pending: PendingStore | null = null;

  constructor(private readonly conn: Connection) {
    this.framer = new AsciiFramer({
      line: (buf, start, end) => this.line(buf.toString('latin1', start, end)),
      data: (buf, start, length, ok) => this.data(buf, start, length, ok),
      tooLong: () => {
        this.reply('SERVER_ERROR line too long');
        this.conn.closeAfterWrite();
      },
    });
  }

  private reply(text: string, noreply = false): void {
    if (!noreply) this.conn.out.ascii(`${text}\r\n`);
  }

  private key(text: string | undefined): KeyRef | null {
    if (text === undefined || text.length === 0 || text.length > KEY_MAX_LENGTH) return null;
    const buf = Buffer.from(text, 'latin1');
    return { vbid: 0, buf, offset: 0, length: buf.length };
  }

  private line(text: string): number | false {
    const t = text.split(' ').filter((x) => x.length > 0);
    const cmd = t[0] ?? '';
    switch (cmd) {
      case 'get':
      case 'gets':
        return this.get(t.slice(1), cmd === 'gets');
      case 'set':
      case 'add':
      case 'replace':
      case 'append':
      case 'prepend':
      case 'cas':
        return this.storage(cmd, t);
      case 'delete':
        return this.simple(t, 2, 3, () => {
          const key = this.key(t[1]);
          if (!key) return 'CLIENT_ERROR bad command line format';
          const o = this.conn.ctx.engine.delete(key, 0);
          this.conn.holdUntil(this.conn.ctx.engine.lastBatch);
          return o === Outcome.Success ? 'DELETED' : o === Outcome.NotFound ? 'NOT_FOUND' : this.serverError(o);
        });
      case 'incr':
      case 'decr':
        return this.simple(t, 3, 4, () => {
          const key = this.key(t[1]);
          if (!key || !NUMBER.test(t[2] ?? '')) return 'CLIENT_ERROR invalid numeric delta argument';
          const engine = this.conn.ctx.engine;
          const o = engine.arith(cmd === 'incr', key, BigInt(t[2]), 0n, 0, false, 0);
          this.conn.holdUntil(engine.lastBatch);
          if (o === Outcome.Success) return engine.lastArith.toString();
          if (o === Outcome.NotFound) return 'NOT_FOUND';
          if (o === Outcome.NonNumeric) return 'CLIENT_ERROR cannot increment or decrement non-numeric value';
          return this.serverError(o);
        });
      case 'touch':
        return this.simple(t, 3, 4, () => {
          const key = this.key(t[1]);
          if (!key || !NUMBER.test(t[2] ?? '')) return 'CLIENT_ERROR bad command line format';
          const o = this.conn.ctx.engine.touch(key, Number(t[2]));
          this.conn.holdUntil(this.conn.ctx.engine.lastBatch);
          return o === Outcome.Success ? 'TOUCHED' : o === Outcome.NotFound ? 'NOT_FOUND' : this.serverError(o);
        });
      case 'flush_all': {
        const noreply = t[t.length - 1] === 'noreply';
        const args = noreply ? t.slice(1, -1) : t.slice(1);
        if (args.length > 1 || (args.length === 1 && !NUMBER.test(args[0]))) return this.error('CLIENT_ERROR bad command line format');
        const o = this.conn.ctx.engine.flush(args.length === 1 ? Number(args[0]) : 0);
        this.conn.holdUntil(this.conn.ctx.engine.lastBatch);
        this.reply(o === Outcome.Success ? 'OK' : this.serverError(o), noreply);
        return -1;
      }
      case 'version':
        this.reply(`VERSION ${this.conn.ctx.version}`);
        return -1;
      case 'verbosity':
        return this.simple(t, 2, 3, () => {
          if (!NUMBER.test(t[1] ?? '')) return 'CLIENT_ERROR bad command line format';
          this.conn.ctx.verbosity = Number(t[1]);
          setVerbosity(this.conn.ctx.verbosity);
          return 'OK';
        });
      case 'stats':
        return this.stats(t.slice(1).join(' '));
      case 'quit':
        this.conn.closeAfterWrite();
        return false;
      default:
        return this.error('ERROR');
    }
  }

  private error(text: string): number {
    this.reply(text);
    return -1;
  }

  /** Outcomes the text protocol has no reply word for. */
  private serverError(o: Outcome): string {
    if (o === Outcome.TempFail) return 'SERVER_ERROR temporary failure';
    if (o === Outcome.NotMyVBucket) return 'SERVER_ERROR vbucket 0 is not active';
    return 'SERVER_ERROR out of memory storing object';
  }

  /** A command with `min`..`max` tokens where the last may be "noreply". */
  private simple(t: string[], min: number, max: number, run: () => string): number {
    const noreply = t.length === max && t[max - 1] === 'noreply';
    if (t.length !== min && !noreply) return this.error('ERROR');
    this.reply(run(), noreply);
    return -1;
  }

  private get(keys: string[], withCas: boolean): number {
    if (keys.length === 0) return this.error('ERROR');
    const engine = this.conn.ctx.engine;
    for (const k of keys) {
      const key = this.key(k);
      if (!key) return this.error('CLIENT_ERROR bad command line format');
      const o = engine.get(key);
      if (o === Outcome.NotFound) continue;
      // Not a miss: warming up, or vBucket 0 not active. Say so instead of a silent END.
      if (o !== Outcome.Success) return this.error(this.serverError(o));
      const v = engine.view;
      this.conn.out.ascii(`VALUE ${k} ${v.flags} ${v.valueLength}${withCas ? ` ${v.cas}` : ''}\r\n`);
      this.conn.out.bytes(v.value, v.valueOffset, v.valueLength, true);
      this.conn.out.ascii('\r\n');
    }
    this.reply('END');
    return -1;
  }

  private storage(cmd: string, t: string[]): number {
    const isCas = cmd === 'cas';
    const base = isCas ? 6 : 5;
    const noreply = t.length === base + 1 && t[base] === 'noreply';
    if (t.length !== base && !noreply) return this.error('ERROR');
    const key = this.key(t[1]);
    const nums = t.slice(2, base);
    if (!key || !nums.every((n) => NUMBER.test(n))) return this.error('CLIENT_ERROR bad command line format');
    const bytes = Number(t[4]);
    if (bytes > this.conn.ctx.settings.maxItemSize) {
      // memcached: refuse, swallow the data block, and a set drops the old item.
      if (cmd === 'set') this.conn.ctx.engine.dropForOversizedSet(key);
      this.reply('SERVER_ERROR object too large for cache', noreply);
      this.framer.skipBytes(bytes + 2);
      return ASCII_SKIP;
    }
    this.pending = { cmd, key, flags: Number(t[2]) >>> 0, exptime: Number(t[3]), cas: isCas ? Number(t[5]) : 0, noreply };
    return bytes;
  }

  private data(buf: Buffer, start: number, length: number, ok: boolean): boolean {
    const p = this.pending;
    this.pending = null;
    if (p === null) return true;
    if (!ok) {
      this.reply('CLIENT_ERROR bad data chunk');
      return true;
    }
    const engine = this.conn.ctx.engine;
    let o: Outcome;
    if (p.cmd === 'append' || p.cmd === 'prepend') o = engine.concat(p.cmd === 'append', p.key, 0, buf, start, length);
    else {
      const mode = p.cmd === 'add' ? StoreMode.Add : p.cmd === 'replace' ? StoreMode.Replace : StoreMode.Set;
      o = engine.store(mode, p.key, p.flags, p.exptime, p.cas, buf, start, length, 0);
    }
    if (o === Outcome.Success) this.conn.holdUntil(engine.lastBatch);
    const text =
      o === Outcome.Success ? 'STORED'
      : o === Outcome.Exists ? (p.cmd === 'cas' ? 'EXISTS' : 'NOT_STORED')
      : o === Outcome.NotFound ? 'NOT_FOUND'
      : o === Outcome.NotStored ? 'NOT_STORED'
      : o === Outcome.TooLarge ? 'SERVER_ERROR object too large for cache'
      : this.serverError(o);
    this.reply(text, p.noreply);
    return true;
  }

  private stats(group: string): number {
    if (group !== '') return this.error('ERROR');
    for (const [name, value] of generalStats(this.conn.ctx)) this.conn.out.ascii(`STAT ${name} ${value}\r\n`);
    this.reply('END');
    return -1;
  }
}
