/**
 * A vBucket's failover table (kv_engine failover-table.cc, in our words): entries of
 * (vbuuid, seqno), newest first. Each entry names a branch of the vBucket's history; a consumer
 * that saw seqnos under an older branch than the server's is told to roll back.
 */
import { randomBytes } from 'node:crypto';

export interface FailoverEntry {
  uuid: bigint;
  seqno: number;
}

export const MAX_FAILOVER_ENTRIES = 25;

/** A random non-zero 64-bit vbuuid. */
export function newVbuuid(): bigint {
  for (;;) {
    const v = randomBytes(8).readBigUInt64BE(0);
    if (v !== 0n) return v;
  }
}

export class FailoverTable {
  private entries: FailoverEntry[];

  constructor(entries: FailoverEntry[] = []) {
    this.entries = FailoverTable.sanitize(entries);
  }

  /** A new vBucket's table: one entry at seqno 0. */
  static fresh(): FailoverTable {
    const t = new FailoverTable();
    t.createEntry(0);
    return t;
  }

  /** Drops entries a valid table cannot hold: vbuuid 0, or a seqno above the newer neighbour's. */
  static sanitize(entries: readonly FailoverEntry[]): FailoverEntry[] {
    const out: FailoverEntry[] = [];
    for (const e of entries) {
      if (e.uuid === 0n) continue;
      const newer = out[out.length - 1];
      if (newer && e.seqno > newer.seqno) continue;
      out.push({ uuid: e.uuid, seqno: e.seqno });
    }
    return out.slice(0, MAX_FAILOVER_ENTRIES);
  }

  /** Starts a new branch at `seqno`: history above it is abandoned, then the table is capped. */
  createEntry(seqno: number): FailoverEntry {
    this.entries = this.entries.filter((e) => e.seqno <= seqno);
    const entry = { uuid: newVbuuid(), seqno };
    this.entries.unshift(entry);
    if (this.entries.length > MAX_FAILOVER_ENTRIES) this.entries.length = MAX_FAILOVER_ENTRIES;
    return entry;
  }

  latest(): FailoverEntry {
    return this.entries[0];
  }

  get size(): number {
    return this.entries.length;
  }

  list(): readonly FailoverEntry[] {
    return this.entries;
  }

  /** The seqno where `uuid`'s branch ended (the next newer entry's seqno); undefined when `uuid`
   * is the newest entry or unknown. Used by OBSERVE_SEQNO's "failed over" answer. */
  lastSeqnoFor(uuid: bigint): number | undefined {
    for (let i = 1; i < this.entries.length; i++) if (this.entries[i].uuid === uuid) return this.entries[i - 1].seqno;
    return undefined;
  }

  contains(uuid: bigint): boolean {
    return this.entries.some((e) => e.uuid === uuid);
  }

  /** The 16-byte-per-entry wire form (vbuuid, seqno), newest first. */
  toWire(): Buffer {
    const out = Buffer.allocUnsafe(16 * this.entries.length);
    this.entries.forEach((e, i) => {
      out.writeBigUInt64BE(e.uuid, i * 16);
      out.writeBigUInt64BE(BigInt(e.seqno), i * 16 + 8);
    });
    return out;
  }

  copy(): FailoverTable {
    return new FailoverTable(this.entries);
  }

  /** Storage form: vbuuids as decimal strings, so any serializer keeps all 64 bits. */
  toJSON(): Array<[string, number]> {
    return this.entries.map((e) => [e.uuid.toString(), e.seqno]);
  }

  static fromJSON(json: ReadonlyArray<readonly [string, number]>): FailoverTable {
    return new FailoverTable(json.map(([u, s]) => ({ uuid: BigInt(u), seqno: s })));
  }
}
