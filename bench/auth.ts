/**
 * `npm run bench:auth`: what one SASL authentication costs the server, per mechanism: complete
 * exchanges per second on one connection, each followed by a NOOP so it is a full round trip.
 * The client caches its salted password (as SCRAM clients do), so the figures are the server's
 * work and the round trips, not the client's PBKDF2.
 *
 * Environment: BENCH_SECONDS per mechanism (3).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Framer, PEER_LIMITS, responseStatus } from '../protocol/framer.js';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest } from '../protocol/request-encoder.js';
import { startLmcached } from './servers.js';
import { saltedEntry } from '../lib/server/password-file.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 3);

class Conn {
  private waiting: Array<(r: { status: number; value: string }) => void> = [];
  private readonly framer = new Framer({ frame: (f) => (this.waiting.shift()?.({ status: responseStatus(f), value: f.buf.toString('utf8', f.valueOffset, f.valueOffset + f.valueLength) }), true), oversized: () => false, fault: () => this.socket.destroy() }, PEER_LIMITS);
  constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.framer.push(d));
  }
  call(opcode: number, key = '', value = ''): Promise<{ status: number; value: string }> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.socket.write(encodeRequest({ opcode, key, value }));
    });
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-auth-'));
  const pwdb = join(dir, 'users');
  // A clear entry, and a salted one as `lmcached passwd` writes it (PLAIN then costs a PBKDF2).
  writeFileSync(pwdb, `bench:bench-password\n${saltedEntry('salted', 'bench-password')}\n`);
  const server = await startLmcached('memory', undefined, ['-S', '--sasl-pwdb', pwdb]);
  const socket = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  const c = new Conn(socket);
  console.log(`# SASL authentications — ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${new Date().toISOString()}\n`);
  console.log('| mechanism | authentications/s | µs each (round trips included) |');
  console.log('|---|---:|---:|');
  const salted = new Map<string, Buffer>();
  const mechanisms: Array<[string, 'sha256' | 'sha512' | null, string]> = [
    ['PLAIN', null, 'bench'],
    ['PLAIN', null, 'salted'],
    ['SCRAM-SHA-256', 'sha256', 'bench'],
    ['SCRAM-SHA-512', 'sha512', 'bench'],
    ['SCRAM-SHA-512', 'sha512', 'salted'],
  ];
  for (const [mechanism, hash, user] of mechanisms) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (hash === null) {
        if ((await c.call(OP.SASL_AUTH, 'PLAIN', `\0${user}\0bench-password`)).status !== 0) throw new Error('PLAIN failed');
      } else {
        const bare = `n=${user},r=${randomBytes(12).toString('base64')}`;
        const first = await c.call(OP.SASL_AUTH, mechanism, `n,,${bare}`);
        const f = new Map(first.value.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
        const key = `${hash}:${f.get('s')}`;
        const sp = salted.get(key) ?? pbkdf2Sync('bench-password', Buffer.from(f.get('s') ?? '', 'base64'), Number(f.get('i')), hash === 'sha256' ? 32 : 64, hash);
        salted.set(key, sp);
        const clientKey = createHmac(hash, sp).update('Client Key').digest();
        const without = `c=biws,r=${f.get('r')}`;
        const sig = createHmac(hash, createHash(hash).update(clientKey).digest()).update(`${bare},${first.value},${without}`).digest();
        const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i])).toString('base64');
        if ((await c.call(OP.SASL_STEP, mechanism, `${without},p=${proof}`)).status !== 0) throw new Error(`${mechanism} failed`);
      }
      await c.call(OP.NOOP);
      n++;
    }
    const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
    console.log(`| ${mechanism}${user === 'salted' ? ' (salted entry)' : ''} | ${Math.round(1e6 / us)} | ${us.toFixed(0)} |`);
  }
  socket.destroy();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
