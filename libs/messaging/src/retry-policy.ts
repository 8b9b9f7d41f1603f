import { backoffDelay as backoff, TrellisError } from '@trellis/contracts';

/** How a consumer retries. */
export interface RetryPolicy {
  /** Deliveries allowed before a failing message is dead-lettered (the first delivery counts). */
  maxDeliver: number;
  /** Redelivery delay after the n-th failed delivery is `backoffMs[n-1]` (the last entry repeats), ±20% jitter ({@link CONSUMER_JITTER}). */
  backoffMs: readonly number[];
}

/** What to do with a message whose handler failed. */
export type FailureSettlement = { action: 'nak'; delayMs: number } | { action: 'dead-letter'; reason: string };

export const DEFAULT_BACKOFF_MS: readonly number[] = [1_000, 5_000, 15_000, 30_000];
export const DEFAULT_MAX_DELIVER = 5;
/** ±20% around a consumer's backoff delay. */
const CONSUMER_JITTER = [0.8, 1.2] as const;

/**
 * The one place a handler's error becomes a settlement (STYLE.md, "Errors decide retries"):
 * a TrellisError that is not `retryable` is dead-lettered at once; anything else is retried,
 * after the error's `retryAfterMs` or the backoff for this delivery, until `maxDeliver` deliveries.
 */
export function settleFailure(err: unknown, deliveryCount: number, policy: RetryPolicy, random: () => number = Math.random): FailureSettlement {
  if (err instanceof TrellisError && !err.retryable) {
    return { action: 'dead-letter', reason: `${err.code}: ${err.message}` };
  }
  if (deliveryCount >= policy.maxDeliver) {
    return { action: 'dead-letter', reason: `failed ${deliveryCount} deliveries (limit ${policy.maxDeliver}); last error: ${describeError(err)}` };
  }
  if (err instanceof TrellisError && err.retryAfterMs !== undefined) {
    // The error knows when to come back (a provider's Retry-After): honour it exactly.
    return { action: 'nak', delayMs: Math.max(0, Math.round(err.retryAfterMs)) };
  }
  return { action: 'nak', delayMs: backoffDelay(deliveryCount, policy.backoffMs, random) };
}

/**
 * Delay before redelivery after the `deliveryCount`-th failed delivery: the one backoff formula
 * (libs/contracts' `backoffDelay`) over the consumer's delays, with ±20% jitter.
 */
export function backoffDelay(deliveryCount: number, backoffMs: readonly number[], random: () => number = Math.random): number {
  return backoff({ delaysMs: backoffMs, jitter: CONSUMER_JITTER }, deliveryCount, random);
}

/** `code: message` for our error classes, the message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof TrellisError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
