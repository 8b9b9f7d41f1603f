import type { FailureInfo } from '@trellis/contracts';

/**
 * A step attempt's failure in the executor's words: `retryable` says whether another try
 * (under the step's retry policy) may succeed, `retryAfterMs` when the far side asked for a
 * delay. The step runner alone turns it into a redelivery or a `step.failed`.
 */
export class StepError extends Error {
  constructor(
    readonly info: FailureInfo,
    readonly retryAfterMs?: number,
  ) {
    super(info.message);
    this.name = 'StepError';
  }

  static final(code: string, message: string): StepError {
    return new StepError({ code, message, retryable: false });
  }

  static retryable(code: string, message: string, retryAfterMs?: number): StepError {
    return new StepError({ code, message, retryable: true }, retryAfterMs);
  }
}
