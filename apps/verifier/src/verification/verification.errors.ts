import { TrellisError } from '@trellis/contracts';
import { NonRetryableError, RetryableError } from '@trellis/messaging';

/**
 * A judge call failed in a way that may pass on another try (the provider throttled or
 * failed, or the judge answered something unusable): the job is redelivered with backoff,
 * and its step fails once the delivery limit is reached.
 */
export class JudgeRetryableError extends RetryableError {}

/** The judge cannot work at all (no provider configured, the model refused the request): the step fails at once. */
export class JudgeFailedError extends NonRetryableError {}

/** A replayed job's judge asked what the source run's recording does not have (`recorded` mode): the step fails with `replay_miss` and the difference. */
export class ReplayMissError extends TrellisError {
  constructor(message: string) {
    super('replay_miss', message, { retryable: false });
  }
}
