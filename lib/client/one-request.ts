/**
 * One request, one reply, over a fresh connection: for tools (`lmcached tail`, the benches)
 * that ask a server a single question. Replies are read with the protocol's one framer.
 */
import net from 'node:net';
import { Framer, PEER_LIMITS, responseStatus } from '../../protocol/framer.js';

export interface Reply {
  status: number;
  value: Buffer;
}

export async function requestOnce(host: string, port: number, request: Buffer): Promise<Reply> {
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, host, () => resolve(s));
    s.once('error', reject);
  });
  try {
    return await new Promise<Reply>((resolve, reject) => {
      const framer = new Framer(
        {
          frame: (f) => {
            resolve({ status: responseStatus(f), value: Buffer.from(f.buf.subarray(f.valueOffset, f.valueOffset + f.valueLength)) });
            return false;
          },
          oversized: () => false,
          fault: (reason) => reject(new Error(`unreadable reply: ${reason}`)),
        },
        PEER_LIMITS,
      );
      socket.on('data', (d: Buffer) => framer.push(d));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('connection closed before the reply')));
      socket.write(request);
    });
  } finally {
    socket.destroy();
  }
}
