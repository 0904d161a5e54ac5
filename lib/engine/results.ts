/**
 * Filling the caller-owned result objects (requests.ts) from a record: what a read found, what
 * a mutation did.
 */
import { recordCas, recordDatatype, recordExpiry, recordFlags, recordSeqno, recordValueLength, recordValueOffset } from '../store/record.js';
import type { ItemView, MutationResult } from './requests.js';
import type { VBucket } from './vbucket.js';

/** Describes an immutable record in `v` (value by reference). */
export function fillView(v: ItemView, rec: Buffer): void {
  v.cas = recordCas(rec);
  v.flags = recordFlags(rec);
  v.expiry = recordExpiry(rec);
  v.datatype = recordDatatype(rec);
  v.value = rec;
  v.valueOffset = recordValueOffset(rec);
  v.valueLength = recordValueLength(rec);
}

export function setResult(r: MutationResult, vb: VBucket, rec: Buffer, batch: number): void {
  r.cas = recordCas(rec);
  r.seqno = recordSeqno(rec);
  r.vbuuid = vb.uuid;
  r.batch = batch;
  r.valueLength = recordValueLength(rec);
  r.expiry = recordExpiry(rec);
}
