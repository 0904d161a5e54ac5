/**
 * memcached's text protocol on the same port, chosen by the first byte: storage, retrieval,
 * CAS, arithmetic, touch, flush, stats, noreply, errors and oversized values.
 */
import net from 'node:net';
import t, { type Test } from 'tap';
import { RawClient } from '../fixtures/client.js';
import { Op } from '../fixtures/frames.js';
import { serverFor } from '../fixtures/harness.js';

class TextClient {
  private buf = '';
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(private readonly s: net.Socket) {
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    s.on('close', () => {
      this.closed = true;
      this.wake();
    });
    s.on('error', () => {});
  }

  static async connect(t: Test, port: number): Promise<TextClient> {
    const s = await new Promise<net.Socket>((res) => {
      const x = net.connect(port, '127.0.0.1', () => res(x));
    });
    t.teardown(() => s.destroy());
    return new TextClient(s);
  }

  /** Sends `text` and returns everything up to and including the line matching `until`. */
  async cmd(text: string, until: RegExp = /\r\n$/): Promise<string> {
    this.s.write(text);
    for (;;) {
      const m = until.exec(this.buf);
      if (m) {
        const end = m.index + m[0].length;
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return out;
      }
      if (this.closed) throw new Error(`closed; got ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

const END = /END\r\n$/;

t.test('text protocol commands', async (t) => {
  const server = await serverFor(t, { args: ['-I', '1k'] });
  const c = await TextClient.connect(t, server.port);
  t.equal(await c.cmd('set a 5 0 3\r\nabc\r\n'), 'STORED\r\n');
  t.equal(await c.cmd('get a\r\n', END), 'VALUE a 5 3\r\nabc\r\nEND\r\n');
  t.equal(await c.cmd('get nope\r\n', END), 'END\r\n');
  t.equal(await c.cmd('add a 0 0 1\r\nx\r\n'), 'NOT_STORED\r\n', 'add of an existing key');
  t.equal(await c.cmd('replace b 0 0 1\r\nx\r\n'), 'NOT_STORED\r\n', 'replace of a missing key');
  t.equal(await c.cmd('append a 0 0 2\r\nde\r\n'), 'STORED\r\n');
  t.equal(await c.cmd('prepend a 0 0 2\r\n__\r\n'), 'STORED\r\n');
  const gets = await c.cmd('gets a b\r\n', END);
  const m = /^VALUE a 5 7 (\d+)\r\n__abcde\r\nEND\r\n$/.exec(gets);
  t.ok(m, `gets returns the CAS (${gets.trim()})`);
  const cas = m ? m[1] : '0';
  t.equal(await c.cmd(`cas a 1 0 1 ${cas}1\r\nz\r\n`), 'EXISTS\r\n', 'cas with a stale token');
  t.equal(await c.cmd(`cas a 1 0 1 ${cas}\r\nz\r\n`), 'STORED\r\n', 'cas with the right token');
  t.equal(await c.cmd('cas nope 0 0 1 5\r\nz\r\n'), 'NOT_FOUND\r\n');
  t.equal(await c.cmd('set n 0 0 2\r\n10\r\n'), 'STORED\r\n');
  t.equal(await c.cmd('incr n 5\r\n'), '15\r\n');
  t.equal(await c.cmd('decr n 100\r\n'), '0\r\n');
  t.equal(await c.cmd('incr a 1\r\n'), 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  t.equal(await c.cmd('incr nope 1\r\n'), 'NOT_FOUND\r\n');
  t.equal(await c.cmd('touch a 100\r\n'), 'TOUCHED\r\n');
  t.equal(await c.cmd('touch nope 100\r\n'), 'NOT_FOUND\r\n');
  t.equal(await c.cmd('delete a\r\n'), 'DELETED\r\n');
  t.equal(await c.cmd('delete a\r\n'), 'NOT_FOUND\r\n');
  t.equal(await c.cmd('set q 0 0 1 noreply\r\nq\r\nget q\r\n', END), 'VALUE q 0 1\r\nq\r\nEND\r\n', 'noreply stays silent');
  t.match(await c.cmd('version\r\n'), /^VERSION 1\.6\.18-lmcached-/);
  t.equal(await c.cmd('verbosity 1\r\n'), 'OK\r\n');
  t.match(await c.cmd('stats\r\n', END), /STAT curr_items \d+\r\n[\s\S]*END\r\n$/);
  t.equal(await c.cmd('bogus\r\n'), 'ERROR\r\n', 'unknown command');
  t.equal(await c.cmd('set x 0 0\r\n'), 'ERROR\r\n', 'too few tokens');
  t.equal(await c.cmd('set x 0 zero 1\r\n'), 'CLIENT_ERROR bad command line format\r\n');
  t.equal(await c.cmd(`get ${'k'.repeat(251)}\r\n`), 'CLIENT_ERROR bad command line format\r\n', 'key over 250 bytes');
  // As memcached: the block is read by its stated length, the leftover "\n" is an empty command.
  t.equal(await c.cmd('set x 0 0 3\r\nabcd\r\n', /ERROR\r\n$/), 'CLIENT_ERROR bad data chunk\r\nERROR\r\n', 'a data block of the wrong length');
  t.equal(await c.cmd('set big 0 0 2000\r\n' + 'x'.repeat(2000) + '\r\n'), 'SERVER_ERROR object too large for cache\r\n', 'over -I: refused and skipped');
  t.equal(await c.cmd('get big\r\n', END), 'END\r\n', 'and the connection goes on');
  const bin = await RawClient.connect(server.port);
  t.teardown(() => bin.end());
  await c.cmd('set shared 0 0 4\r\ntext\r\n');
  t.equal((await bin.call({ opcode: Op.GET, key: 'shared' })).value.toString(), 'text', 'the binary protocol sees what the text protocol stored');
  await bin.call({ opcode: 0x3d, vbucket: 0, extras: Buffer.from([2]) });
  t.equal(await c.cmd('get shared\r\n'), 'SERVER_ERROR vbucket 0 is not active\r\n', 'vBucket 0 made a replica: an error, not a miss');
  t.equal(await c.cmd('set shared 0 0 1\r\nx\r\n'), 'SERVER_ERROR vbucket 0 is not active\r\n');
  await bin.call({ opcode: 0x3d, vbucket: 0, extras: Buffer.from([1]) });
  t.equal(await c.cmd('flush_all\r\n'), 'OK\r\n');
  t.equal(await c.cmd('get q n\r\n', END), 'END\r\n', 'flushed');
  await c.cmd('quit\r\n', /never/).catch(() => undefined);
  t.ok(c.closed, 'quit closes the connection');
});
