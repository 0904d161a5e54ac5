/**
 * V8 heap limits of the store's helper threads (the log and apply threads). Their young
 * generation grew to V8's default 32 MB under load and stayed there, idle, beside the main
 * thread's: about 30 MB of each node's resident memory for objects that live microseconds
 * (decoded frames, lmdb-js arguments). A small one costs more, cheaper, scavenges (bench:memory,
 * bench/RESULTS.md).
 */
import type { ResourceLimits } from 'node:worker_threads';

export const HELPER_RESOURCE_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 8 };
