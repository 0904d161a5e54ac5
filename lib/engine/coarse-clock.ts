/**
 * Unix seconds, refreshed once a second: a read can note when it happened without a clock
 * call on the request path (memcached's current_time serves the same purpose).
 */
let seconds = Math.floor(Date.now() / 1000);
setInterval(() => {
  seconds = Math.floor(Date.now() / 1000);
}, 1000).unref();

export const coarseSeconds = (): number => seconds;
