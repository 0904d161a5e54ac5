/**
 * The version string VERSION and `stats` report. It starts with the memcached release whose
 * behaviour lmcached follows, because clients such as libmemcached parse major.minor.micro
 * from it and gate features on it.
 */
export const LMCACHED_VERSION = '0.1.0';
export const VERSION = `1.6.18-lmcached-${LMCACHED_VERSION}`;
