/**
 * This node's view of the pair as a kv_engine bucket configuration: GET_CLUSTER_CONFIG's answer
 * and NOT_MY_VBUCKET's body, so a Couchbase-aware client finds a vBucket's active node.
 */
import { followerAddress } from '../replication/cluster-map.js';
import { VBUCKET_STATE_NAMES } from '../engine/vbucket.js';
import type { ServerContext } from './context.js';

export function clusterConfig(ctx: ServerContext): string {
  const followers: string[] = [];
  for (const p of ctx.producers) {
    const a = followerAddress(p.name);
    if (a !== null && !followers.includes(a)) followers.push(a);
  }
  const vbs = ctx.engine.vbuckets;
  const states = Array.from({ length: vbs.count }, (_, id) => {
    const vb = vbs.get(id);
    return vb === undefined ? undefined : VBUCKET_STATE_NAMES[vb.state];
  });
  return ctx.clusterMap.json({ self: ctx.selfAddress, source: ctx.replicator?.source ?? null, followers, states });
}
