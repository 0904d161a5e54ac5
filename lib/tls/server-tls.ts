/**
 * TLS on the listening port (memcached's -Z and its -o ssl_* options) through node:tls: the
 * files are read and checked at start (a bad file stops the start, naming it) and again on a
 * reload (SIGHUP or the text command refresh_certs), which keeps the old ones if the new are bad.
 */
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import type { TlsServerSettings } from '../settings.js';

/** A certificate, key or CA file that cannot be used; the message names the file. */
export class TlsConfigError extends Error {}

const MIN_VERSION: Record<TlsServerSettings['minVersion'], tls.SecureVersion> = {
  'tlsv1': 'TLSv1',
  'tlsv1.1': 'TLSv1.1',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.3': 'TLSv1.3',
};

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsConfigError(`${path}: cannot read the ${what} (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** What a TLS server is made with: the secure context's options and the client-certificate
 * policy. memcached's ssl_verify_mode 1 asks for a certificate and checks one that is sent but
 * lets a client without one in; node:tls has no such mode, so the server only asks
 * (`rejectUnauthorized` false) and `admits` turns away a client whose certificate failed. */
export interface ServerTlsConfig {
  context: tls.SecureContextOptions;
  requestCert: boolean;
  rejectUnauthorized: boolean;
  /** Whether a handshaken connection may stay (ssl_verify_mode 1's check). */
  admits(socket: tls.TLSSocket): boolean;
  loadedAt: number;
}

export function loadServerTls(ssl: TlsServerSettings): ServerTlsConfig {
  if (ssl.chainCert === null) throw new TlsConfigError('-Z needs -o ssl_chain_cert=FILE');
  const cert = readPem(ssl.chainCert, 'certificate chain (ssl_chain_cert)');
  const key = ssl.key === null ? cert : readPem(ssl.key, 'private key (ssl_key)');
  const context: tls.SecureContextOptions = { cert, key, minVersion: MIN_VERSION[ssl.minVersion] };
  if (ssl.caCert !== null) context.ca = readPem(ssl.caCert, 'client CA certificates (ssl_ca_cert)');
  if (ssl.ciphers !== null) context.ciphers = ssl.ciphers;
  try {
    // Parses everything now: a key that does not match its certificate fails here, not at the
    // first client.
    tls.createSecureContext(context);
  } catch (err) {
    throw new TlsConfigError(`${ssl.key ?? ssl.chainCert}: cannot use the certificate and key (${err instanceof Error ? err.message : String(err)})`);
  }
  const mode = ssl.verifyMode;
  return {
    context,
    requestCert: mode !== 0,
    rejectUnauthorized: mode >= 2,
    admits: (socket) => mode !== 1 || socket.authorized || Object.keys(socket.getPeerCertificate()).length === 0,
    loadedAt: Date.now(),
  };
}

export interface TlsListener {
  /** A net.Server (tls.Server is one) whose connections are TLS sockets once handshaken. */
  server: net.Server;
  /** Replaces certificate, key and CAs for new connections (open ones keep theirs). */
  reload(config: ServerTlsConfig): void;
}

/**
 * A listener that hands each connection to `secure` once its handshake is done and its client
 * certificate (if asked for) passed; a failed handshake goes to `handshakeFailed` and the
 * connection is dropped, as memcached drops it.
 */
export function createTlsListener(
  config: ServerTlsConfig,
  options: { allowHalfOpen: boolean; noDelay: boolean },
  secure: (socket: net.Socket) => void,
  handshakeFailed: (err: Error) => void,
): TlsListener {
  let current = config;
  const server = tls.createServer({ ...config.context, requestCert: config.requestCert, rejectUnauthorized: config.rejectUnauthorized, ...options }, (socket) => {
    if (!current.admits(socket)) {
      handshakeFailed(new Error(`client certificate refused: ${socket.authorizationError?.message ?? 'not trusted'}`));
      socket.destroy();
      return;
    }
    secure(socket);
  });
  server.on('tlsClientError', (err) => handshakeFailed(err));
  return {
    server,
    reload(next) {
      server.setSecureContext(next.context);
      current = next;
    },
  };
}
