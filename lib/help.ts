/** `lmcached --help`: every flag, memcached's names first. */
export const HELP = `Usage: lmcached [options]
       lmcached tail [--host H] [--port P] [--vbucket N]   (print the change stream; tail --help)
       lmcached passwd [--file F] USER   (a salted password entry; passwd --help)
A memcached binary-protocol server whose data lives in LMDB.

  -p, --port <num>             TCP port to listen on (default: 11211)
  -l, --listen <addr>          interface to listen on (default: 127.0.0.1)
  -c, --max-connections <num>  max simultaneous connections (default: 1024)
  -I, --max-item-size <size>   largest value accepted, e.g. 1m, 512k (default: 1m)
  -m, --memory-limit <MB>      item memory in megabytes: items cached in front of LMDB;
                               every item stays on disk, 0 reads all from LMDB (default: 64)
  -v, --verbose                more logging (-vv for the most)
  -S, --enable-sasl            require SASL authentication (SCRAM-SHA-512/256, PLAIN) on
                               the binary protocol
      --sasl-pwdb <file>       the SASL users, one user:password a line (default: the
                               file named by MEMCACHED_SASL_PWDB)
  -Y, --auth-file <file>       require the text protocol's authentication (memcached's
                               ASCII auth: a first \`set\` whose data is "user password");
                               users one user:password a line; without -S the binary
                               protocol then needs SASL with the same users
  -A, --enable-shutdown        enable the text protocol's "shutdown" command
  -X, --disable-dumping        disable stats cachedump and lru_crawler metadump
  -W, --disable-watch          disable the text command "watch" (live logging)
  -Z, --enable-ssl             TLS on the listening port, both protocols (needs
                               -o ssl_chain_cert=FILE)
  -o, --extended <opts>        memcached's comma-separated options; lmcached knows
                               idle_timeout=<seconds>: close client connections idle
                               that long (default: 0, never)
                               no_lru_crawler: refuse the lru_crawler commands
                               watcher_logbuf_size=<KiB>: a watch client further behind
                               than this skips lines (default: 256)
                               ssl_chain_cert=<file>: certificate chain, PEM
                               ssl_key=<file>: its private key, PEM (default: in the chain)
                               ssl_ca_cert=<file>: CAs accepted for client certificates
                               ssl_verify_mode=<0-3>: client certificates: 0 not asked
                               (default), 1 checked if sent, 2 and 3 required
                               ssl_min_version=<version>: oldest TLS accepted: tlsv1,
                               tlsv1.1, tlsv1.2 (default) or tlsv1.3
                               ssl_ciphers=<list>: OpenSSL cipher list (TLS 1.2)
      --data-dir <dir>         where LMDB keeps the data (default: ./data)
      --ack <memory|persist>   acknowledge writes from memory (default) or only after the
                               LMDB commit that holds them
      --vbuckets <num>         number of vBuckets (default: 1024)
      --flush-interval-ms <n>  least time between LMDB commits (default: 5 with
                               --ack=memory, 0 with --ack=persist)
      --dcp-batch-ms <n>       least time between two socket writes of a DCP connection
                               under load: replicas get what n ms brought in one write (a
                               write after a pause goes at once; default: 10 with
                               --ack=memory, 1 with --ack=persist)
      --purge-age <seconds>    keep tombstones this long for change-stream consumers
                               (default: 259200, three days)
      --purge-interval <s>     seconds between purger passes (default: 600)
      --helper-nice <0-19>     nice value of the helper threads (GC helpers, libuv's pool);
                               the event loop and the log and apply threads that write keep
                               nice 0 (default: 0)
      --helper-policy <batch|normal>
                               scheduling policy of the threads that write, set with
                               chrt: batch puts the apply thread in SCHED_IDLE while
                               nothing waits for its applies, and with --ack=persist the
                               log thread in SCHED_BATCH while commits keep up (normal
                               otherwise and at shutdown); normal leaves both normal
                               (default: batch)
      --replica-of <host:port> keep this node's vBuckets as replicas of the active node at
                               host:port, fed over DCP (a fresh data directory starts
                               with replica vBuckets; vBuckets stored as active stay active)
      --replica-user <user>    the SASL user this node authenticates as to its active
      --replica-password-file <file>  the file holding that user's password
      --replica-tls            connect to the active over TLS (its -Z)
      --replica-tls-ca <file>  the CA that signed the active's certificate (default: the
                               system's CAs); implies --replica-tls
      --replica-tls-cert <file>, --replica-tls-key <file>
                               a client certificate, for an active with ssl_verify_mode 2
      --replica-force          with --replica-of: also demote vBuckets stored as active,
                               and let a vBucket whose history the active does not share
                               be wiped and copied again (otherwise logged and left alone)
  -h, --help                   print this help and exit
  -V, --version                print the version and exit
`;
