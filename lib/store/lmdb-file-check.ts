/**
 * Checks an existing data.mdb before LMDB maps it. LMDB trusts its file: a damaged header or a
 * truncated file can make it read through garbage pointers and crash the process (SIGSEGV,
 * SIGBUS) without a word. So the two meta pages are read first, with plain reads, and a file
 * whose metas are not LMDB's or that is shorter than the pages its newest meta names is refused
 * with a DataFormatError naming the problem.
 *
 * Meta page layout (lmdb-js's LMDB, data format version 2): the MDB_meta starts 24 bytes into
 * pages 0 and 1: magic u32 0xBEEFC0DE, version u32, address u64, map size u64, two MDB_db
 * records of 48 bytes (the first, the free DB, keeps the page size in its pad field), last
 * page number u64, transaction id u64. Little-endian on the machines lmdb-js supports.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DataFormatError } from './store.js';

const META_AT = 24;
const MAGIC = 0xbeefc0de;
const VERSIONS = [1, 2];
const PAGE_SIZE_AT = META_AT + 24;
const LAST_PAGE_AT = META_AT + 120;
const TXNID_AT = META_AT + 128;
const META_BYTES = TXNID_AT + 8;

interface Meta {
  pageSize: number;
  lastPage: bigint;
  txnid: bigint;
}

function readMeta(page: Buffer): Meta | null {
  if (page.readUInt32LE(META_AT) !== MAGIC || !VERSIONS.includes(page.readUInt32LE(META_AT + 4))) return null;
  return { pageSize: page.readUInt32LE(PAGE_SIZE_AT), lastPage: page.readBigUInt64LE(LAST_PAGE_AT), txnid: page.readBigUInt64LE(TXNID_AT) };
}

function readAt(fd: number, position: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  readSync(fd, b, 0, length, position);
  return b;
}

/** Throws DataFormatError when `file` (an existing data.mdb) is not a whole LMDB file. An
 * empty file is fine: LMDB initialises it. */
export function checkLmdbFile(file: string): void {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    if (size < META_BYTES) throw new DataFormatError(`${file}: ${size} bytes, too short to be an LMDB data file`);
    const first = readMeta(readAt(fd, 0, META_BYTES));
    if (first === null) throw new DataFormatError(`${file}: not an LMDB data file, or its first page is damaged`);
    const pageSize = first.pageSize;
    if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new DataFormatError(`${file}: damaged header (page size ${pageSize})`);
    if (size < 2 * pageSize) throw new DataFormatError(`${file}: truncated to ${size} bytes, shorter than its two header pages`);
    const second = readMeta(readAt(fd, pageSize, META_BYTES));
    if (second === null) throw new DataFormatError(`${file}: the second header page is damaged`);
    const newest = second.txnid > first.txnid ? second : first;
    const needed = (newest.lastPage + 1n) * BigInt(pageSize);
    if (BigInt(size) < needed) throw new DataFormatError(`${file}: truncated to ${size} bytes, its last transaction needs ${needed}`);
  } finally {
    closeSync(fd);
  }
}
