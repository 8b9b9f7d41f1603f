import { TrellisError } from '@trellis/contracts';

/*
 * Presets of the one failure taxonomy (TrellisError, libs/contracts) for message handlers, as
 * inngest's RetryAfterError / NonRetriableError: the consumer runner reads only `retryable`
 * and `retryAfterMs` of any TrellisError, these merely set them. It alone turns them into
 * ack / nak(delay) / term + dead-letter; a handler never touches the message.
 */

/** Options shared by both presets. */
export interface HandlerErrorOptions {
  /** A stable, machine-readable code (`rate_limited`, `template_not_found`, …) for logs and dead letters. */
  code?: string;
  /** The underlying error, kept whole for logs and traces. */
  cause?: unknown;
}

/**
 * The work may succeed if tried again: the message is redelivered after `retryAfterMs` when
 * given (e.g. a provider's `Retry-After`), else after the consumer's backoff for this
 * delivery; past the delivery limit it is dead-lettered. Any error that is not a TrellisError
 * is treated the same way.
 */
export class RetryableError extends TrellisError {
  constructor(message: string, options: HandlerErrorOptions & { retryAfterMs?: number } = {}) {
    super(options.code ?? 'retryable', message, { retryable: true, retryAfterMs: options.retryAfterMs, cause: options.cause });
  }
}

/**
 * Retrying cannot help (the input is wrong, the thing it refers to is gone): the message is
 * dead-lettered at once with this error's code and message as the reason.
 */
export class NonRetryableError extends TrellisError {
  constructor(message: string, options: HandlerErrorOptions = {}) {
    super(options.code ?? 'non_retryable', message, { retryable: false, cause: options.cause });
  }
}
