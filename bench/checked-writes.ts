/**
 * Writes whose fate is checked afterwards, for the loss-window and soak benches: a connection
 * storing unique keys one at a time and reporting each acknowledgement, and a read-back that
 * says which acknowledged keys a server does not hold.
 */
import net from 'node:net';
import { Framer, PEER_LIMITS, responseStatus } from '../protocol/framer.js';
import { OP } from '../protocol/opcodes.js';
import { encodeRequest, storeExtras } from '../protocol/request-encoder.js';

/** Stores `<prefix>-0`, `<prefix>-1`, ... one at a time (`pauseMs` between them) until `stop.now`
 * or the connection ends; `acked` is called with each key the server acknowledged. */
export function checkedWriter(port: number, prefix: string, acked: (key: string) => void, stop: { now: boolean }, pauseMs = 0): Promise<void> {
  return new Promise((done) => {
    const s = net.connect(port, '127.0.0.1');
    let i = 0;
    const send = (): void => {
      if (stop.now) return void s.end();
      s.write(encodeRequest({ opcode: OP.SET, key: `${prefix}-${i}`, extras: storeExtras(0, 0), value: `v${i}`, opaque: i }));
    };
    const framer = new Framer(
      {
        frame: (f) => {
          if (responseStatus(f) === 0) acked(`${prefix}-${f.opaque}`);
          i++;
          if (pauseMs > 0) setTimeout(send, pauseMs);
          else send();
          return true;
        },
        oversized: () => false,
        fault: () => s.destroy(),
      },
      PEER_LIMITS,
    );
    s.on('connect', send);
    s.on('data', (d: Buffer) => framer.push(d));
    s.on('error', () => undefined);
    s.on('close', () => done());
  });
}

/** Which of `keys` the server does not hold (one pipelined batch of GETs ended by a NOOP). */
export async function missingKeys(port: number, keys: string[]): Promise<string[]> {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const found = new Set<number>();
  await new Promise<void>((done) => {
    const framer = new Framer(
      {
        frame: (f) => {
          if (f.opcode === OP.NOOP) done();
          else if (responseStatus(f) === 0) found.add(f.opaque);
          return true;
        },
        oversized: () => false,
        fault: () => done(),
      },
      PEER_LIMITS,
    );
    s.on('data', (d: Buffer) => framer.push(d));
    s.write(Buffer.concat([...keys.map((key, i) => encodeRequest({ opcode: OP.GET, key, opaque: i })), encodeRequest({ opcode: OP.NOOP })]));
  });
  s.destroy();
  return keys.filter((_, i) => !found.has(i));
}
