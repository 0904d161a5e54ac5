/**
 * A yardstick for `npm run bench:cpu`: a Node process that speaks just enough of the binary
 * protocol to keep memtier going (every request framed and answered SUCCESS, a GET with a
 * 100-byte value) and stores nothing. It reads and writes its sockets as lmcached does (reads
 * into one shared buffer through net's onread, every reply of a loop turn written after the
 * turn's reads, one write per connection), so the gap
 * between it and lmcached is lmcached's own work per request, not Node's socket handling.
 *
 * Usage: node build/bench/null-server.js <port>
 */
import net from 'node:net';
import { startReading } from '../lib/server/socket-reader.js';

const port = Number(process.argv[2]);
const VALUE = Buffer.alloc(100, 120);
const OP_GET = 0x00;
const HEADER = 24;
const EMPTY = Buffer.alloc(0);

const queued: Array<[net.Socket, Buffer]> = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  for (const [socket, reply] of queued.splice(0)) socket.write(reply);
}

/** Answers every whole request in `buf` into `out`; returns [bytes consumed, bytes written]. */
function answer(buf: Buffer, out: Buffer): [number, number] {
  let p = 0;
  let o = 0;
  while (buf.length - p >= HEADER) {
    const body = buf.readUInt32BE(p + 8);
    if (buf.length - p < HEADER + body) break;
    const op = buf[p + 1];
    out.fill(0, o, o + HEADER);
    out[o] = 0x81;
    out[o + 1] = op;
    buf.copy(out, o + 12, p + 12, p + 16); // opaque
    out.writeUInt32BE(1, o + 20); // CAS
    if (op === OP_GET) {
      out[o + 4] = 4;
      out.writeUInt32BE(4 + VALUE.length, o + 8);
      out.writeUInt32BE(0, o + HEADER);
      VALUE.copy(out, o + HEADER + 4);
      o += HEADER + 4 + VALUE.length;
    } else {
      o += HEADER;
    }
    p += HEADER + body;
  }
  return [p, o];
}

net
  .createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, (accepted) => {
    // Read as lmcached reads (socket-reader.ts: net's onread into one shared buffer), so the
    // gap is storage, not a different read path.
    const { socket, bind } = startReading(accepted, false);
    let rest = EMPTY;
    bind((read, length) => {
      const chunk = read.subarray(0, length);
      const buf = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
      const out = Buffer.allocUnsafe(Math.ceil(buf.length / HEADER) * (HEADER + 4 + VALUE.length));
      const [used, wrote] = answer(buf, out);
      // The read buffer is reused after this call: keep a copy of a partial request.
      rest = used < buf.length ? Buffer.from(buf.subarray(used)) : EMPTY;
      if (wrote === 0) return;
      queued.push([socket, out.subarray(0, wrote)]);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushAll);
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  })
  .listen(port, '127.0.0.1');
