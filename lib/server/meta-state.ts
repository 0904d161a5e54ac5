/**
 * The per-item state behind the meta protocol's stale-while-revalidate flags, as memcached
 * keeps it on its items: stale (md I, or an ms I that lost a CAS race: an X in replies) and
 * token sent (a client was told it won, W: the others see Z). An entry belongs to one version
 * of an item, named by its CAS: a write that makes a new CAS makes the entry void, so any
 * protocol or a replica's stream can overwrite an item without telling this table.
 *
 * Like memcached's, the state lives in memory: a restart forgets it (an item invalidated with
 * md I reads as fresh again; README says so). Entries exist only for items in that state, at
 * most MAX_ENTRIES (the oldest is dropped first).
 */

export interface MetaItemState {
  cas: number;
  stale: boolean;
  tokenSent: boolean;
}

const MAX_ENTRIES = 100_000;

export class MetaStates {
  private readonly entries = new Map<string, MetaItemState>();

  /** The state of the item version with `cas`, or undefined when it has none. */
  get(key: string, cas: number): MetaItemState | undefined {
    const s = this.entries.get(key);
    if (s === undefined) return undefined;
    if (s.cas !== cas) {
      this.entries.delete(key);
      return undefined;
    }
    return s;
  }

  set(key: string, state: MetaItemState): void {
    this.entries.delete(key);
    if (this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, state);
  }

  get size(): number {
    return this.entries.size;
  }
}
