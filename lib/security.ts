/**
 * Everything -S, -Y, -Z and the replica's credentials need at start: the user files, the TLS
 * files, each checked before the server listens (a missing or malformed file stops the start
 * with EX_CONFIG, naming it), and their reload on SIGHUP, which keeps what was loaded before if
 * a new file is bad.
 */
import { readFileSync } from 'node:fs';
import { log } from './log.js';
import type { ServerContext } from './server/context.js';
import { PasswordFileError, SaslUsers } from './server/sasl.js';
import type { Settings } from './settings.js';
import { EXIT, StartupError } from './startup.js';
import { loadClientTls, type ClientTls } from './tls/client-tls.js';
import { TlsConfigError, loadServerTls, type ServerTlsConfig } from './tls/server-tls.js';

export interface Security {
  /** Users of SASL on the binary protocol: -S's file, or -Y's when -Y comes alone. */
  sasl: SaslUsers | null;
  /** Users of the text protocol's authentication (-Y). */
  ascii: SaslUsers | null;
  tls: ServerTlsConfig | null;
  /** How a replica connects to its active. */
  replicaAuth: { user: string; password: string } | undefined;
  replicaTls: ClientTls | null;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function loadUsers(path: string, what: string): SaslUsers {
  try {
    const users = SaslUsers.load(path);
    log.info(`${what}: ${users.size} users from ${path}`);
    return users;
  } catch (err) {
    if (err instanceof PasswordFileError) throw new StartupError(EXIT.config, err.message);
    throw err;
  }
}

function saslPath(settings: Settings): string | null {
  if (!settings.enableSasl) return null;
  const path = settings.saslPwdb ?? process.env.MEMCACHED_SASL_PWDB;
  if (path === undefined || path === '') throw new StartupError(EXIT.config, '-S needs the SASL users: --sasl-pwdb FILE or MEMCACHED_SASL_PWDB');
  return path;
}

/** Reads and checks every file the security flags name; throws StartupError. */
export function loadSecurity(settings: Settings): Security {
  const path = saslPath(settings);
  const ascii = settings.authFile === null ? null : loadUsers(settings.authFile, 'ascii auth');
  // memcached refuses the binary protocol with -Y; lmcached keeps it, behind SASL with the
  // same users, so that -Y never leaves a way in without a password.
  const sasl = path !== null ? loadUsers(path, 'sasl') : ascii;
  if (path === null && ascii !== null) log.info('ascii auth: binary connections need SASL with the -Y users');
  const loopback = /^(127\.|::1$|localhost$)/.test(settings.listen);
  if (sasl === null && !loopback) log.warn(`listening on ${settings.listen} without -S: anyone who can reach the port can read, write and flush everything`);
  let tls: ServerTlsConfig | null = null;
  if (settings.enableSsl) {
    try {
      tls = loadServerTls(settings.ssl);
    } catch (err) {
      throw new StartupError(EXIT.config, message(err));
    }
  } else if (sasl !== null && !loopback) {
    log.warn(`listening on ${settings.listen} without -Z: passwords sent with PLAIN or -Y, and all data, cross the network in clear`);
  }
  let replicaAuth: Security['replicaAuth'];
  if (settings.replicaUser !== null && settings.replicaPasswordFile !== null) {
    try {
      replicaAuth = { user: settings.replicaUser, password: readFileSync(settings.replicaPasswordFile, 'utf8').replace(/\r?\n$/, '') };
    } catch (err) {
      throw new StartupError(EXIT.config, `${settings.replicaPasswordFile}: cannot read the replica's password (${message(err)})`);
    }
  }
  let replicaTls: ClientTls | null = null;
  if (settings.replicaTls !== null) {
    try {
      replicaTls = loadClientTls(settings.replicaTls);
    } catch (err) {
      throw new StartupError(EXIT.config, message(err));
    }
  }
  return { sasl, ascii, tls, replicaAuth, replicaTls };
}

/**
 * Reloads on SIGHUP (memcached re-reads its password file on it) and for refresh_certs:
 * each file that loads replaces its predecessor, each that fails is logged and the old kept.
 */
export function watchSecurity(settings: Settings, ctx: ServerContext, reloadTls: (config: ServerTlsConfig) => void): void {
  const path = settings.enableSasl ? (settings.saslPwdb ?? process.env.MEMCACHED_SASL_PWDB ?? null) : null;
  const refreshCerts = (): string | null => {
    try {
      const config = loadServerTls(settings.ssl);
      reloadTls(config);
      ctx.tlsLoadedAt = config.loadedAt;
      log.info(`tls: certificate reloaded from ${settings.ssl.chainCert ?? ''}`);
      return null;
    } catch (err) {
      log.error(`tls: ${message(err)}; keeping the certificate loaded before`);
      return err instanceof TlsConfigError ? err.message : message(err);
    }
  };
  if (settings.enableSsl) ctx.refreshCerts = refreshCerts;
  if (path === null && settings.authFile === null && !settings.enableSsl) return;
  process.on('SIGHUP', () => {
    const reload = (file: string, what: string): SaslUsers | null => {
      try {
        const users = SaslUsers.load(file);
        log.info(`${what}: reloaded ${users.size} users from ${file}`);
        return users;
      } catch (err) {
        log.error(`${what}: ${message(err)}; keeping the users loaded before`);
        return null;
      }
    };
    if (settings.authFile !== null) ctx.asciiUsers = reload(settings.authFile, 'ascii auth') ?? ctx.asciiUsers;
    if (path !== null) ctx.sasl = reload(path, 'sasl') ?? ctx.sasl;
    else if (settings.authFile !== null) ctx.sasl = ctx.asciiUsers;
    if (settings.enableSsl) refreshCerts();
  });
}
