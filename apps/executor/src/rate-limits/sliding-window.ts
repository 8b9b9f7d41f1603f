const MERGE_MS = 100;

/** One grant recorded in a window: when (epoch ms) and how much (1 request, or n tokens). */
export type Grant = [at: number, amount: number];

/** The outcome of asking a window for `amount`. */
export type WindowDecision = { granted: true; grants: Grant[] } | { granted: false; retryInMs: number };

/**
 * A sliding log: `amount` is granted when the grants of the last `windowMs` plus it stay
 * within `limit`, so no window of that length, wherever it starts, ever holds more than the
 * limit (a fixed window or a token bucket would allow up to twice the limit across a window
 * boundary). Otherwise says how long until enough grants age out. An amount larger than the
 * limit itself is granted on an empty window, or it could never be granted at all.
 * Pure, so the arithmetic is tested without NATS.
 */
export function tryGrant(log: readonly Grant[], now: number, windowMs: number, limit: number, amount: number): WindowDecision {
  const live = log.filter(([at]) => at > now - windowMs).sort((a, b) => a[0] - b[0]);
  let used = live.reduce((sum, [, n]) => sum + n, 0);
  if (used + amount <= limit || used === 0) {
    // Grants within MERGE_MS of each other share one entry, timed by the latest (so it lives
    // a little longer, never shorter): a busy key stays at most window / MERGE_MS entries.
    const last = live[live.length - 1];
    if (last && last[0] >= now - MERGE_MS) return { granted: true, grants: [...live.slice(0, -1), [now, last[1] + amount]] };
    return { granted: true, grants: [...live, [now, amount]] };
  }
  for (const [at, n] of live) {
    used -= n;
    if (used + amount <= limit) return { granted: false, retryInMs: Math.max(1, at + windowMs - now + 1) };
  }
  return { granted: false, retryInMs: Math.max(1, live[live.length - 1]![0] + windowMs - now + 1) };
}
