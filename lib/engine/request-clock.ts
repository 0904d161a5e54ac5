/**
 * The time as of the request batch being served, for CAS values (cas.ts): read once per chunk
 * a connection receives (server.ts ticks it before Connection.receive), so the writes in that
 * chunk (up to a read buffer's worth) share one clock read instead of one each (1.5% of a
 * pipelined SET's event-loop time). Between ticks (no client traffic: the expiry pager) a CAS still grows by
 * one per write, so it is unique and increasing whatever the clock says. Nothing that bounds
 * time (--ack=memory's lag, timeouts) reads it.
 */
let epochMs = Date.now();

/** Reads the clock: a new batch of requests starts. */
export function tickRequestClock(): void {
  epochMs = Date.now();
}

/** Date.now() as of the last tick. */
export const requestEpochMs = (): number => epochMs;
