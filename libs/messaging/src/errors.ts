/**
 * The failure taxonomy a message handler speaks (STYLE.md, "Errors decide retries"). The
 * consumer runner alone turns it into ack / nak(delay) / term + dead-letter; a handler never
 * touches the message. Domain errors may extend these classes to carry their own codes.
 */

/** Options shared by both error classes. */
export interface HandlerErrorOptions {
  /** A stable, machine-readable code (`rate_limited`, `template_not_found`, …) for logs and dead letters. */
  code?: string;
  /** The underlying error, kept whole for logs and traces. */
  cause?: unknown;
}

/**
 * The work may succeed if tried again: the message is redelivered after `retryAfterMs` when
 * given (e.g. a provider's `Retry-After`), else after the consumer's backoff for this
 * delivery; past the delivery limit it is dead-lettered. Any error that is not a
 * {@link NonRetryableError} is treated the same way.
 */
export class RetryableError extends Error {
  readonly code: string;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: HandlerErrorOptions & { retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RetryableError';
    this.code = options.code ?? 'retryable';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * Retrying cannot help (the input is wrong, the thing it refers to is gone): the message is
 * dead-lettered at once with this error's code and message as the reason.
 */
export class NonRetryableError extends Error {
  readonly code: string;

  constructor(message: string, options: HandlerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NonRetryableError';
    this.code = options.code ?? 'non_retryable';
  }
}
