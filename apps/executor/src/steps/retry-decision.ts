import { backoffDelay, exponentialDelays, type RetryPolicy } from '@trellis/contracts';

/** What to do after a retryable failure of one try. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/** Between half and the full delay: a burst of failures does not come back as a burst. */
const STEP_JITTER = [0.5, 1] as const;

/**
 * The one place a step's retry policy is applied. `delivery` is the 1-based try number (the
 * queue's delivery count). Exponential backoff from `initialMs`, capped at `maxMs`, through the
 * one backoff formula (libs/contracts' `backoffDelay`); a provider's Retry-After is a floor,
 * never shortened by the jitter.
 */
export function decideRetry(policy: RetryPolicy, delivery: number, retryAfterMs: number | undefined, random: () => number = Math.random): RetryDecision {
  if (delivery >= policy.attempts) return { retry: false };
  const backoff = backoffDelay({ delaysMs: exponentialDelays(policy.initialMs, policy.maxMs, policy.attempts), jitter: STEP_JITTER }, delivery, random);
  return { retry: true, delayMs: retryAfterMs === undefined ? backoff : Math.max(Math.ceil(retryAfterMs), backoff) };
}
