/**
 * Reads an accepted socket into one read buffer shared by every connection, through net's
 * `onread` option, instead of the readable-stream 'data' path.
 *
 * Why: on the stream path Node allocates a fresh buffer for every read and runs it through
 * the Readable machinery (push, buffering, 'data' emit); on small request/response traffic
 * that costs about as much CPU as the rest of a GET. `onread` hands each read straight to a
 * callback in a caller-owned buffer. Node offers it only for sockets it connects itself, so an
 * accepted socket's handle (accepted paused, nothing read yet) is moved into a new Socket
 * made with `onread`. Where that handle is not reachable, the 'data' path is used.
 *
 * The callback's chunk is valid only until it returns (the next read overwrites it): the
 * framers copy whatever they keep.
 */
import net from 'node:net';

/** Called with each chunk read: its first `length` bytes; `transient` says the chunk is reused
 * after the call (the shared read buffer, passed whole: no Buffer is made per read). */
export type ChunkReceiver = (chunk: Buffer, length: number, transient: boolean) => void;

interface OnReadSocketOptions extends net.SocketConstructorOpts {
  /** The accepted TCP handle to wrap (net.Socket's own, undocumented, constructor option). */
  handle: object;
  onread: { buffer: Uint8Array; callback: (bytesRead: number, buf: Uint8Array) => boolean };
}

const READ_BUFFER_SIZE = 64 * 1024;
/** One per thread: a read is consumed synchronously before the next one can happen. */
const shared = Buffer.allocUnsafe(READ_BUFFER_SIZE);

/**
 * Starts reading `accepted` (which must come from a server created with `pauseOnConnect`) and
 * returns the socket to use from now on: a new one owning the same handle, or `accepted`
 * itself on the fallback path (taken also when `streamReads` asks for it). `receive` is bound
 * later by `bind`, once its owner exists.
 */
export function startReading(accepted: net.Socket, streamReads: boolean): { socket: net.Socket; bind(receive: ChunkReceiver): void } {
  let receive: ChunkReceiver = () => undefined;
  const handle: unknown = Reflect.get(accepted, '_handle');
  if (!streamReads && typeof handle === 'object' && handle !== null && 'readStart' in handle) {
    // Detach the handle first so destroying the husk only settles the server's count.
    Reflect.set(accepted, '_handle', null);
    accepted.destroy();
    const options: OnReadSocketOptions = {
      handle,
      // The connection ends its side itself once every reply is out (see Connection).
      allowHalfOpen: true,
      onread: {
        buffer: shared,
        callback: (n) => {
          receive(shared, n, true);
          return true;
        },
      },
    };
    const socket = new net.Socket(options);
    // Nothing is pushed into the readable side but end-of-stream; flowing lets 'end' fire.
    socket.resume();
    return { socket, bind: (r) => (receive = r) };
  }
  accepted.on('data', (chunk: Buffer) => receive(chunk, chunk.length, false));
  accepted.resume();
  return { socket: accepted, bind: (r) => (receive = r) };
}
