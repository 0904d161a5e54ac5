/**
 * Command-line flags and their defaults. memcached's own short flags mean what they mean there
 * (-p port, -l listen address, -c max connections, -v verbosity, -I max item size, -m item
 * memory in megabytes: here the resident cache, since every item is also on disk).
 */

export type AckMode = 'memory' | 'persist';

/** The log and apply threads' scheduling policy: SCHED_BATCH or the normal one (writer-thread-policy.ts). */
export type HelperPolicy = 'batch' | 'normal';

export interface Settings {
  port: number;
  listen: string;
  maxConnections: number;
  maxItemSize: number;
  /** Megabytes of items kept in memory in front of LMDB (memcached's -m). */
  memoryLimitMb: number;
  verbosity: number;
  dataDir: string;
  ack: AckMode;
  vbuckets: number;
  /** Minimum time between flusher batches; default depends on --ack (see DEFAULT_FLUSH_INTERVAL). */
  flushIntervalMs: number;
  /** Least time between two socket writes of a DCP producer under load (a write after an idle
   * spell goes at once); each write wakes the consumer, which costs the producer's thread more
   * than the items it carries. Default depends on --ack (DEFAULT_DCP_BATCH). */
  dcpBatchMs: number;
  /** Seconds a tombstone is kept before the purger removes it (kv_engine's metadata purge age). */
  purgeAge: number;
  /** Seconds between purger passes. */
  purgeInterval: number;
  /** Nice value given to every thread but the event loop's; default depends on --ack. */
  helperNice: number;
  /** The log and apply threads' scheduling policy (writer-thread-policy.ts). */
  helperPolicy: HelperPolicy;
  /** Seconds a client connection may stay idle before it is closed (0: never); memcached's
   * `-o idle_timeout`. */
  idleTimeout: number;
  /** The active node whose vBuckets this node's replica vBuckets follow over DCP. */
  replicaOf: { host: string; port: number } | null;
  /** With replicaOf: demote active vBuckets found on disk to replicas, and let a replica wipe
   * and resync a vBucket whose history the active does not share. */
  replicaForce: boolean;
  /** memcached's -S: SASL authentication on the binary protocol. */
  enableSasl: boolean;
  /** The SASL password file (memcached's MEMCACHED_SASL_PWDB format); null: that variable. */
  saslPwdb: string | null;
  /** How this node authenticates to the active it follows: a user and a file holding the
   * password (so it is not on the command line). */
  replicaUser: string | null;
  replicaPasswordFile: string | null;
  /** memcached's -Y: the users of the text protocol's authentication (`user:password` lines). */
  authFile: string | null;
  /** memcached's -A: the text command `shutdown` stops the server. */
  enableShutdown: boolean;
  /** memcached's -X unset: `stats cachedump` and `lru_crawler metadump` answer. */
  dumpEnabled: boolean;
  /** memcached's -W unset: the text command `watch` streams log lines. */
  watchEnabled: boolean;
  /** memcached's -o no_lru_crawler unset: `lru_crawler` commands run. */
  lruCrawler: boolean;
  /** memcached's -o watcher_logbuf_size (KiB): a watcher further behind than this skips lines. */
  watcherBufferKb: number;
  /** memcached's -Z: TLS on the listening port, for both protocols. */
  enableSsl: boolean;
  /** memcached's -o ssl_* options (read with -Z only, as memcached does). */
  ssl: TlsServerSettings;
  /** TLS on the replication link to the active (--replica-tls and its files); null: plain TCP. */
  replicaTls: TlsClientSettings | null;
}

/** memcached's ssl_verify_mode: 0 none, 1 request (checked if given), 2 require, 3 once. */
export type SslVerifyMode = 0 | 1 | 2 | 3;

export interface TlsServerSettings {
  chainCert: string | null;
  key: string | null;
  caCert: string | null;
  verifyMode: SslVerifyMode;
  minVersion: 'tlsv1' | 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3';
  ciphers: string | null;
}

/** A TLS client's files: the CA that signed the server's certificate (default: the system's),
 * and a certificate and key of its own for a server with ssl_verify_mode 2 or 3. */
export interface TlsClientSettings {
  ca: string | null;
  cert: string | null;
  key: string | null;
}

/** --ack=memory acks before the commit, so batching every 5 ms costs clients nothing, and under
 * load each commit (and its page writes and syncs on LMDB's threads) carries more writes, which
 * leaves more CPU to serving; --ack=persist commits as soon as the previous commit is done. */
export const DEFAULT_FLUSH_INTERVAL: Record<AckMode, number> = { memory: 5, persist: 0 };

/** With --ack=memory a replica receives what 10 ms brought in one socket write: each write wakes
 * the replica's process, and on the active that costs more than the items it carries (a write
 * per millisecond cost the active +23% CPU per write for its replica, one per 5 ms +22%, one per
 * 10 ms +14%: issue 14's bound is 15%); the replica's lag under a saturating load doubles (p50
 * 5.4 → 11.3 ms), still within what --ack=memory may lose on the active itself. With
 * --ack=persist within a millisecond, usually before the commit that acknowledges them. */
export const DEFAULT_DCP_BATCH: Record<AckMode, number> = { memory: 10, persist: 1 };

/** Helper threads keep normal priority by default. The threads that write (log and apply) keep
 * it whatever the flag says (HelperThreadPriority's `keep`): at nice 10 the apply thread gave
 * +6 to +23% ops/s on 2 cores shared with the load generator, but on a machine busy with other
 * work it starved, LMDB fell behind and a SIGTERM under load could not finish in time
 * (bench/RESULTS.md, 2026-12-03 session 14); at nice 19 the log thread's syncs, which
 * acknowledgements may wait for, starved too. */
export const DEFAULT_HELPER_NICE: Record<AckMode, number> = { memory: 0, persist: 0 };

export const DEFAULTS: Settings = {
  port: 11211,
  listen: '127.0.0.1',
  maxConnections: 1024,
  maxItemSize: 1024 * 1024,
  memoryLimitMb: 64,
  verbosity: 0,
  dataDir: './data',
  ack: 'memory',
  vbuckets: 1024,
  flushIntervalMs: -1,
  dcpBatchMs: -1,
  purgeAge: 3 * 24 * 3600,
  purgeInterval: 600,
  helperNice: -1,
  helperPolicy: 'batch',
  idleTimeout: 0,
  replicaOf: null,
  replicaForce: false,
  enableSasl: false,
  saslPwdb: null,
  replicaUser: null,
  replicaPasswordFile: null,
  authFile: null,
  enableShutdown: false,
  dumpEnabled: true,
  watchEnabled: true,
  lruCrawler: true,
  watcherBufferKb: 256,
  enableSsl: false,
  ssl: { chainCert: null, key: null, caCert: null, verifyMode: 0, minVersion: 'tlsv1.2', ciphers: null },
  replicaTls: null,
};

const SSL_MIN_VERSIONS = ['tlsv1', 'tlsv1.1', 'tlsv1.2', 'tlsv1.3'] as const;

/** One memcached -o option; throws UsageError for one lmcached does not know. */
function extendedOption(s: Settings, opt: string): void {
  const eq = opt.indexOf('=');
  const name = eq < 0 ? opt : opt.slice(0, eq);
  const v = eq < 0 ? undefined : opt.slice(eq + 1);
  if (opt === 'no_lru_crawler' || opt === 'lru_crawler') {
    s.lruCrawler = opt === 'lru_crawler';
    return;
  }
  if (v === undefined || v === '') throw new UsageError(`unknown or incomplete -o option: ${opt}`);
  switch (name) {
    case 'idle_timeout':
      s.idleTimeout = parseInteger(v, 'idle_timeout', 0, 365 * 24 * 3600);
      return;
    case 'watcher_logbuf_size':
      s.watcherBufferKb = parseInteger(v, 'watcher_logbuf_size', 1, 1024 * 1024);
      return;
    case 'ssl_chain_cert':
      s.ssl.chainCert = v;
      return;
    case 'ssl_key':
      s.ssl.key = v;
      return;
    case 'ssl_ca_cert':
      s.ssl.caCert = v;
      return;
    case 'ssl_verify_mode': {
      const mode = /^[0-3]$/.test(v) ? Number(v) : -1;
      if (mode !== 0 && mode !== 1 && mode !== 2 && mode !== 3) throw new UsageError(`ssl_verify_mode must be 0 (none), 1 (request), 2 (require) or 3 (once): ${v}`);
      s.ssl.verifyMode = mode;
      return;
    }
    case 'ssl_min_version': {
      const version = SSL_MIN_VERSIONS.find((x) => x === v);
      if (version === undefined) throw new UsageError(`ssl_min_version must be one of ${SSL_MIN_VERSIONS.join(', ')}: ${v}`);
      s.ssl.minVersion = version;
      return;
    }
    case 'ssl_ciphers':
      s.ssl.ciphers = v;
      return;
    default:
      throw new UsageError(`unknown or incomplete -o option: ${opt}`);
  }
}

export class UsageError extends Error {}

function parseSize(text: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(text);
  if (!m) throw new UsageError(`not a size: ${text}`);
  const unit = m[2].toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : unit === 'g' ? 1024 * 1024 * 1024 : 1);
}

function parseInteger(text: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be an integer: ${text}`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`${name} must be between ${min} and ${max}: ${text}`);
  return n;
}

/** Parses argv (without node and script): the settings, and whether to run or only print the
 * help or the version. Throws UsageError for a bad flag. */
export function parseArgs(argv: readonly string[]): { settings: Settings; action: 'run' | 'help' | 'version' } {
  const s: Settings = { ...DEFAULTS, ssl: { ...DEFAULTS.ssl } };
  let action: 'run' | 'help' | 'version' = 'run';
  // Any of the --replica-tls* flags turns TLS on for the replication link.
  const replicaTls = (): TlsClientSettings => (s.replicaTls ??= { ca: null, cert: null, key: null });
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-p':
      case '--port':
        s.port = parseInteger(value(), 'port', 0, 65535);
        break;
      case '-l':
      case '--listen':
        s.listen = value();
        break;
      case '-c':
      case '--max-connections':
        s.maxConnections = parseInteger(value(), 'max-connections', 1, 1_000_000);
        break;
      case '-I':
      case '--max-item-size':
        s.maxItemSize = parseSize(value());
        if (s.maxItemSize < 1024 || s.maxItemSize > 1024 * 1024 * 1024) throw new UsageError('max-item-size must be between 1k and 1g');
        break;
      case '-m':
      case '--memory-limit':
        s.memoryLimitMb = parseInteger(value(), 'memory-limit', 0, 1024 * 1024);
        break;
      case '-v':
      case '--verbose':
        s.verbosity += 1;
        break;
      case '-vv':
        s.verbosity += 2;
        break;
      case '--data-dir':
        s.dataDir = value();
        break;
      case '-o':
      case '--extended':
        for (const opt of value().split(',')) extendedOption(s, opt);
        break;
      case '--ack': {
        const v = value();
        if (v !== 'memory' && v !== 'persist') throw new UsageError(`--ack must be memory or persist: ${v}`);
        s.ack = v;
        break;
      }
      case '--flush-interval-ms':
        s.flushIntervalMs = parseInteger(value(), 'flush-interval-ms', 0, 60_000);
        break;
      case '--dcp-batch-ms':
        s.dcpBatchMs = parseInteger(value(), 'dcp-batch-ms', 0, 1000);
        break;
      case '--purge-age':
        s.purgeAge = parseInteger(value(), 'purge-age', 0, 10 * 365 * 24 * 3600);
        break;
      case '--purge-interval':
        s.purgeInterval = parseInteger(value(), 'purge-interval', 1, 24 * 3600);
        break;
      case '--helper-nice':
        s.helperNice = parseInteger(value(), 'helper-nice', 0, 19);
        break;
      case '--helper-policy': {
        const v = value();
        if (v !== 'batch' && v !== 'normal') throw new UsageError(`--helper-policy must be batch or normal: ${v}`);
        s.helperPolicy = v;
        break;
      }
      case '--vbuckets':
        s.vbuckets = parseInteger(value(), 'vbuckets', 1, 65536);
        break;
      case '--replica-of': {
        const v = value();
        const m = /^(.+):(\d+)$/.exec(v);
        if (!m) throw new UsageError(`--replica-of must be host:port: ${v}`);
        s.replicaOf = { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: parseInteger(m[2], 'replica-of port', 1, 65535) };
        break;
      }
      case '--replica-force':
        s.replicaForce = true;
        break;
      case '--replica-user':
        s.replicaUser = value();
        break;
      case '--replica-password-file':
        s.replicaPasswordFile = value();
        break;
      case '-S':
      case '--enable-sasl':
        s.enableSasl = true;
        break;
      case '--sasl-pwdb':
        s.saslPwdb = value();
        break;
      case '-Y':
      case '--auth-file':
        s.authFile = value();
        break;
      case '-A':
      case '--enable-shutdown':
        s.enableShutdown = true;
        break;
      case '-X':
      case '--disable-dumping':
        s.dumpEnabled = false;
        break;
      case '-W':
      case '--disable-watch':
        s.watchEnabled = false;
        break;
      case '-Z':
      case '--enable-ssl':
        s.enableSsl = true;
        break;
      case '--replica-tls':
        replicaTls();
        break;
      case '--replica-tls-ca':
        replicaTls().ca = value();
        break;
      case '--replica-tls-cert':
        replicaTls().cert = value();
        break;
      case '--replica-tls-key':
        replicaTls().key = value();
        break;
      case '-h':
      case '--help':
        action = 'help';
        break;
      case '-V':
      case '--version':
        action = 'version';
        break;
      default:
        throw new UsageError(`unknown option: ${argv[i]}`);
    }
  }
  if (s.replicaForce && s.replicaOf === null) throw new UsageError('--replica-force needs --replica-of');
  if ((s.replicaUser === null) !== (s.replicaPasswordFile === null)) throw new UsageError('--replica-user and --replica-password-file go together');
  if (s.enableSsl && s.ssl.chainCert === null) throw new UsageError('-Z needs -o ssl_chain_cert=FILE (and ssl_key=FILE unless the key is in that file)');
  if (s.replicaTls !== null && (s.replicaTls.cert === null) !== (s.replicaTls.key === null)) throw new UsageError('--replica-tls-cert and --replica-tls-key go together');
  if (s.flushIntervalMs < 0) s.flushIntervalMs = DEFAULT_FLUSH_INTERVAL[s.ack];
  if (s.dcpBatchMs < 0) s.dcpBatchMs = DEFAULT_DCP_BATCH[s.ack];
  if (s.helperNice < 0) s.helperNice = DEFAULT_HELPER_NICE[s.ack];
  return { settings: s, action };
}
