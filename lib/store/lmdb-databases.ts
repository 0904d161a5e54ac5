/**
 * Opens the data directory's LMDB environment and its four databases, the same way on the main
 * thread (reads) and on the write thread (write-worker.ts). lmdb-js shares one native
 * environment between the threads of a process that open the same path, so both see one map
 * and one write lock, and a read transaction renewed after a commit on either thread sees it.
 *
 * Databases: `items` (item key → record), `seqnos` (seqno key → client key, one entry per live
 * item or tombstone), `vbstate` (vbid → VBStateRecord), `meta`. Key layouts: key-codec.ts;
 * record layout: record.ts.
 */
import { open, type Database, type RootDatabase } from 'lmdb';
import type { VBStateRecord } from './store.js';

/** LMDB's initial map size: it grows as needed, this is the first reservation. */
export const DEFAULT_MAP_SIZE = 1024 * 1024 * 1024;

export interface LmdbDatabases {
  env: RootDatabase;
  items: Database<Buffer, Buffer>;
  seqnos: Database<Buffer, Buffer>;
  vbstates: Database<VBStateRecord, number>;
  meta: Database<unknown, string>;
}

export function openDatabases(path: string, mapSize: number): LmdbDatabases {
  // noSubdir stated: lmdb-js otherwise takes a path with an extension ("lmcached.data") for a file.
  const env = open({ path, mapSize, noSubdir: false });
  return {
    env,
    items: env.openDB<Buffer, Buffer>({ name: 'items', keyEncoding: 'binary', encoding: 'binary' }),
    seqnos: env.openDB<Buffer, Buffer>({ name: 'seqnos', keyEncoding: 'binary', encoding: 'binary' }),
    vbstates: env.openDB<VBStateRecord, number>({ name: 'vbstate', keyEncoding: 'uint32', encoding: 'msgpack' }),
    meta: env.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' }),
  };
}
