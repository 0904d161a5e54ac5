/**
 * What item operations take and give. Arguments are named objects; results go into objects the
 * caller owns and passes in (one of each per connection, reused), so a reply is built from the
 * result of its own call and nothing is read back from engine fields afterwards.
 */
import { itemKeyVbid, USER_KEY_OFFSET, userKeyLength } from '../store/key-codec.js';

/** A key as the request carries it: bytes inside a frame buffer, and its vBucket. */
export interface KeyRef {
  vbid: number;
  buf: Buffer;
  offset: number;
  length: number;
}

/** A KeyRef naming the client's key inside an item key. */
export function keyRefOf(itemKey: Buffer): KeyRef {
  return { vbid: itemKeyVbid(itemKey), buf: itemKey, offset: USER_KEY_OFFSET, length: userKeyLength(itemKey) };
}

/** The item a read found. `value` is an immutable record (resident, or copied from LMDB), so a
 * large one may be referenced by the reply instead of copied. */
export interface ItemView {
  cas: number;
  flags: number;
  /** Absolute Unix seconds; 0: never. */
  expiry: number;
  datatype: number;
  value: Buffer;
  valueOffset: number;
  valueLength: number;
  /** A DataView over `value` when that is an arena page (ResponseWriter.bytesFrom copies from it
   * without a view per call), else null. */
  valueData: DataView | null;
}

/** What a successful mutation did: the item's CAS (0 for a deletion), its seqno and vbuuid
 * (HELLO MUTATION_SEQNO), the flusher batch that commits it (what --ack=persist waits for),
 * and INCREMENT/DECREMENT's new value. */
export interface MutationResult {
  cas: number;
  seqno: number;
  vbuuid: bigint;
  batch: number;
  counter: bigint;
  /** The stored item's value length and absolute expiry (0: none), as memcached's watch logs. */
  valueLength: number;
  expiry: number;
}

export function newItemView(): ItemView {
  return { cas: 0, flags: 0, expiry: 0, datatype: 0, value: Buffer.alloc(0), valueOffset: 0, valueLength: 0, valueData: null };
}

export function newMutationResult(): MutationResult {
  return { cas: 0, seqno: 0, vbuuid: 0n, batch: 0, counter: 0n, valueLength: 0, expiry: 0 };
}

export const StoreMode = { Set: 0, Add: 1, Replace: 2 } as const;
export type StoreMode = (typeof StoreMode)[keyof typeof StoreMode];

/** SET, ADD, REPLACE (and CAS when `cas` is not 0). */
export interface StoreArgs {
  mode: StoreMode;
  key: KeyRef;
  flags: number;
  exptime: number;
  cas: number;
  value: Buffer;
  valueOffset: number;
  valueLength: number;
  datatype: number;
}

/** APPEND (`append`) or PREPEND. */
export interface ConcatArgs {
  append: boolean;
  key: KeyRef;
  cas: number;
  value: Buffer;
  valueOffset: number;
  valueLength: number;
}

/** INCREMENT (`incr`) or DECREMENT; a missing item is created with `initial` if `create`. */
export interface ArithArgs {
  incr: boolean;
  key: KeyRef;
  delta: bigint;
  initial: bigint;
  exptime: number;
  create: boolean;
  cas: number;
}
