import { TrellisError } from '@trellis/contracts';

/**
 * A step attempt's failure in the executor's words: `retryable` says whether another try
 * (under the step's retry policy) may succeed, `retryAfterMs` when the far side asked for a
 * delay. The step runner alone turns it into a redelivery or a `step.failed`.
 */
export class StepError extends TrellisError {
  static final(code: string, message: string): StepError {
    return new StepError(code, message, { retryable: false });
  }

  static retryable(code: string, message: string, retryAfterMs?: number): StepError {
    return new StepError(code, message, { retryable: true, retryAfterMs });
  }

  /** A model's or tool's failure as the step's: its failure info's code (`llm.…`, `tool.…`), retryability and delay. */
  static of(err: TrellisError): StepError {
    const info = err.toFailureInfo();
    return new StepError(info.code, info.message, { retryable: info.retryable, retryAfterMs: err.retryAfterMs, cause: err });
  }
}
