import type { RetryPolicy } from '@trellis/contracts';

/** What to do after a retryable failure of one try. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/**
 * The one place a step's retry policy is applied. `delivery` is the 1-based try number (the
 * queue's delivery count). Exponential backoff from `initialMs`, capped at `maxMs`, with
 * jitter in [50%, 100%] so that a burst of failures does not come back as a burst; a
 * provider's Retry-After is a floor, never shortened by the jitter.
 */
export function decideRetry(policy: RetryPolicy, delivery: number, retryAfterMs: number | undefined, random: () => number = Math.random): RetryDecision {
  if (delivery >= policy.attempts) return { retry: false };
  const exponential = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.max(0, delivery - 1));
  const backoff = Math.round(exponential * (0.5 + 0.5 * random()));
  return { retry: true, delayMs: retryAfterMs === undefined ? backoff : Math.max(Math.ceil(retryAfterMs), backoff) };
}
