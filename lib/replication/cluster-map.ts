/**
 * The vBucket map of an active/replica pair as this node knows it, in kv_engine's bucket
 * configuration format (what GET_CLUSTER_CONFIG answers and NOT_MY_VBUCKET carries in its body):
 * a server list and, per vBucket, the index of its active and of its replica (-1: none known).
 * This node knows itself, the active it follows (--replica-of) and the replicas that follow it
 * (their DCP connection names, `replication:<host>:<port>`).
 */

/** What the map is made of. */
export interface PairView {
  self: string;
  /** The active this node follows, or null. */
  source: string | null;
  /** Nodes that follow this one. */
  followers: readonly string[];
  /** Per vBucket id: 'active', 'replica', 'pending', 'dead', or undefined (none here). */
  states: ReadonlyArray<string | undefined>;
}

/** "replication:<host>:<port>" → "<host>:<port>", or null for any other DCP connection name. */
export function followerAddress(dcpName: string): string | null {
  const m = /^replication:(.+:\d+)$/.exec(dcpName);
  return m === null ? null : m[1];
}

export class ClusterMap {
  private rev = 0;
  private last = '';

  /** The map as JSON; its `rev` grows whenever anything in it changed. */
  json(view: PairView): string {
    const servers = [...new Set([view.self, ...(view.source === null ? [] : [view.source]), ...view.followers])].sort();
    const index = (s: string | null | undefined): number => (s === null || s === undefined ? -1 : servers.indexOf(s));
    const self = index(view.self);
    const other = index(view.source ?? view.followers[0]);
    const follower = index(view.followers[0]);
    const vBucketMap = view.states.map((state) => {
      if (state === 'active') return [self, follower];
      if (state === 'replica' || state === 'pending') return [index(view.source), self];
      return [other, -1];
    });
    const body = JSON.stringify({ name: 'default', nodeLocator: 'vbucket', vBucketServerMap: { hashAlgorithm: 'CRC', numReplicas: 1, serverList: servers, vBucketMap } });
    if (body !== this.last) {
      this.last = body;
      this.rev++;
    }
    return `{"rev":${this.rev},${body.slice(1)}`;
  }
}
