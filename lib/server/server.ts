/**
 * The TCP listener, plain or TLS (-Z): accepts connections (up to -c), gives each a Connection,
 * and on shutdown stops accepting and closes every connection.
 */
import net from 'node:net';
import { log } from '../log.js';
import { Connection } from './connection.js';
import { startReading } from './socket-reader.js';
import type { ServerContext } from './context.js';
import { coarseSeconds } from '../engine/coarse-clock.js';
import { tickRequestClock } from '../engine/request-clock.js';
import { createTlsListener, type ServerTlsConfig, type TlsListener } from '../tls/server-tls.js';
import { WATCH } from './watch-log.js';

const TOO_MANY_CONNECTIONS = 'ERROR Too many open connections\r\n';

export class Server {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly connections = new Set<Connection>();
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly tls: TlsListener | null = null;
  /** Per client connection, for `stats conns`: an id, its addresses, when it last sent (Unix
   * seconds from the coarse clock: no clock call per read). */
  private readonly peers = new Map<net.Socket, { id: number; remote: string; local: string; lastReadAt: number }>();
  private nextPeerId = 1;

  constructor(
    private readonly ctx: ServerContext,
    /** Read through Node's stream 'data' events, not the shared read buffer (a test hook). */
    private readonly streamReads = false,
    tlsConfig: ServerTlsConfig | null = null,
  ) {
    if (tlsConfig === null) {
      this.server = net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, (socket) => this.accept(socket, this.streamReads));
    } else {
      // TLS sockets decrypt in Node's stream path: the shared read buffer (socket-reader.ts)
      // reads raw TCP and is for plain connections only.
      this.tls = createTlsListener(
        tlsConfig,
        { noDelay: true, allowHalfOpen: true },
        (socket) => this.accept(socket, true),
        (err) => {
          this.ctx.counters.ssl_handshake_errors++;
          log.debug(`tls: handshake failed: ${err.message}`);
        },
      );
      this.server = this.tls.server;
    }
    ctx.connectionStats = () => this.connectionStats();
    const idle = ctx.settings.idleTimeout;
    if (idle > 0) {
      this.idleTimer = setInterval(() => {
        for (const c of this.connections) c.sweepIdle(idle);
      }, 1000);
      this.idleTimer.unref();
    }
  }

  listen(): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.ctx.settings.port, this.ctx.settings.listen, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  /** Stops accepting and stops reading: what clients already sent has been answered (or is
   * held for a commit), nothing new comes in. */
  quiesce(): void {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.server.close();
    for (const s of this.sockets) s.pause();
    for (const c of this.connections) c.quiesce();
  }

  /** Ends every connection once its replies are written, then resolves. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      if (this.sockets.size === 0) resolve();
      const check = (): void => {
        if (this.sockets.size === 0) resolve();
      };
      for (const s of this.sockets) s.once('close', check);
    });
    for (const s of this.sockets) s.end();
    const deadline = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 2000);
    await closed;
    clearTimeout(deadline);
  }

  /** memcached's `stats conns` lines: the listener, then each client connection. memcached
   * numbers them by file descriptor; lmcached by the order they were accepted. */
  private connectionStats(): Array<readonly [string, string | number]> {
    const now = coarseSeconds();
    const a = this.server.address();
    const listen = a !== null && typeof a === 'object' ? `${a.family === 'IPv6' ? 'tcp6' : 'tcp'}:${a.address}:${a.port}` : '';
    const out: Array<readonly [string, string | number]> = [['0:addr', listen], ['0:state', 'conn_listening'], ['0:secs_since_last_cmd', 0]];
    for (const p of this.peers.values()) {
      out.push([`${p.id}:addr`, p.remote], [`${p.id}:listen_addr`, p.local], [`${p.id}:state`, 'conn_parse_cmd'], [`${p.id}:secs_since_last_cmd`, now - p.lastReadAt]);
    }
    return out;
  }

  /** New certificate, key and CAs for connections accepted from now on (-Z only). */
  reloadTls(config: ServerTlsConfig): void {
    this.tls?.reload(config);
  }

  private accept(accepted: net.Socket, streamReads: boolean): void {
    if (this.sockets.size >= this.ctx.settings.maxConnections) {
      // memcached tells the client why (in its text protocol's words, to either protocol) and
      // closes at once.
      this.ctx.counters.rejected_connections++;
      log.warn(`too many connections (${this.sockets.size}); closing new one`);
      accepted.on('error', () => undefined);
      accepted.end(TOO_MANY_CONNECTIONS, () => accepted.destroy());
      return;
    }
    const { socket, bind } = startReading(accepted, streamReads);
    this.ctx.counters.curr_connections++;
    this.ctx.counters.total_connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const conn = new Connection(socket, this.ctx);
    this.connections.add(conn);
    const tcp = (address: string | undefined, port: number | undefined): string => `${address?.includes(':') === true ? 'tcp6' : 'tcp'}:${address ?? ''}:${port ?? 0}`;
    const peer = { id: this.nextPeerId++, remote: tcp(socket.remoteAddress, socket.remotePort), local: tcp(socket.localAddress, socket.localPort), lastReadAt: coarseSeconds() };
    this.peers.set(socket, peer);
    const watch = this.ctx.watch;
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    if ((watch.flags & WATCH.connevents) !== 0) watch.connNew(address, port, peer.id);
    socket.on('close', (hadError) => {
      this.connections.delete(conn);
      this.peers.delete(socket);
      if ((watch.flags & WATCH.connevents) !== 0) watch.connClose(address, port, hadError ? 'error' : 'normal', peer.id);
    });
    bind((chunk, length, transient) => {
      peer.lastReadAt = coarseSeconds();
      tickRequestClock();
      watch.cfd = peer.id;
      conn.receive(chunk, length, transient);
    });
  }
}
