/**
 * Connecting to another lmcached (or memcached) as a client, in plain TCP or over TLS: the
 * replication link, `lmcached tail`, one-request tools. The server's certificate is always
 * verified, against the given CA or the system's, and must name the host connected to.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { TlsClientSettings } from '../settings.js';

/** What a TLS client presents and trusts, read once from its files. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads the files named by `s`; throws an Error naming a file that cannot be read. */
export function loadClientTls(s: TlsClientSettings): ClientTls {
  const read = (path: string | null, what: string): Buffer | undefined => {
    if (path === null) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${path}: cannot read the ${what} (${err instanceof Error ? err.message : String(err)})`);
    }
  };
  return { ca: read(s.ca, 'CA certificate'), cert: read(s.cert, 'client certificate'), key: read(s.key, 'client key') };
}

/** Resolves with the socket once connected (and, over TLS, once the server is verified). */
export function connectTo(host: string, port: number, secure: ClientTls | null = null): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (secure === null) {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
      return;
    }
    // An IP address is checked against the certificate's IP entries; SNI takes names only.
    const servername = net.isIP(host) === 0 ? host : undefined;
    const s = tls.connect({ host, port, servername, ...secure }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
