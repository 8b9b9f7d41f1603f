import type { FailureInfo } from './common';
import type { ErrorCode, Issue, RpcError } from './rpc';

/*
 * The one failure taxonomy (STYLE.md, "Errors decide retries"), after Temporal's
 * ApplicationFailure: every error of ours is a TrellisError that says its code, whether
 * another try may succeed, when (retryAfterMs), and why (cause). The model, tool, step, judge,
 * RPC, domain and gateway errors extend it; the consumer runner turns `retryable` and
 * `retryAfterMs` into nak(delay) or dead-letter, the gateway turns codes into HTTP statuses.
 * It lives beside the wire shapes it converts to and from (FailureInfo, RpcError), which every
 * lib may already import; it is data plus that conversion, no I/O.
 */

/** What a {@link TrellisError} says beside its code and message. */
export interface TrellisErrorOptions {
  /** Whether another try may succeed. Default: false (retrying cannot help). */
  retryable?: boolean;
  /** When another try may succeed (a provider's Retry-After, a planner's "come back soon"); only with `retryable`. */
  retryAfterMs?: number;
  /** The underlying error, kept whole for logs and traces. */
  cause?: unknown;
  /** Every problem found in bad input, for an `invalid_argument`. */
  issues?: Issue[];
}

/** The base of every error of ours: code, retryable, retry-after, cause; to and from the wire's failure info. */
export class TrellisError<Code extends string = string> extends Error {
  /** A stable, machine-readable code (`rate_limited`, `not_found`, …) for runs, logs, dead letters and HTTP. */
  readonly code: Code;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly issues: Issue[] | undefined;

  constructor(code: Code, message: string, options: TrellisErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.retryAfterMs = this.retryable ? options.retryAfterMs : undefined;
    this.issues = options.issues?.length ? options.issues : undefined;
  }

  /** The failure as events and run records carry it. */
  toFailureInfo(): FailureInfo {
    return { code: this.code, message: this.message, retryable: this.retryable };
  }

  /** A failure read back from an event or a record (the delay is not on the wire: pass it when known). */
  static fromFailureInfo(info: FailureInfo, options: Pick<TrellisErrorOptions, 'retryAfterMs' | 'cause'> = {}): TrellisError {
    return new TrellisError(info.code, info.message, { ...options, retryable: info.retryable });
  }
}

/**
 * Whether a request that failed with this code may succeed when made again: the service was
 * away, a limit was reached, or something unexpected happened; never for a wrong request.
 */
export const RETRYABLE_ERROR_CODES = {
  invalid_argument: false,
  not_found: false,
  conflict: false,
  failed_precondition: false,
  unavailable: true,
  resource_exhausted: true,
  internal: true,
} as const satisfies Record<ErrorCode, boolean>;

/**
 * A service's domain error: a code from the shared set and, for bad input, every issue found.
 * Its retryability follows the code. An RPC answers with it; the gateway alone maps codes to HTTP.
 */
export class DomainError extends TrellisError<ErrorCode> {
  constructor(code: ErrorCode, message: string, issues?: Issue[], options: Pick<TrellisErrorOptions, 'cause' | 'retryAfterMs'> = {}) {
    super(code, message, { ...options, issues, retryable: RETRYABLE_ERROR_CODES[code] });
  }

  /** The error as an RPC reply carries it. */
  toRpcError(): RpcError {
    return { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) };
  }
}

/**
 * How long to wait after a failure before trying again: the delay after the n-th failure is
 * `delaysMs[n-1]` (the last entry repeats), scaled by a random factor within `jitter` so that
 * a burst of failures (a provider outage) does not come back as a burst.
 */
export interface BackoffPolicy {
  delaysMs: readonly number[];
  /** The range of the random factor, e.g. `[0.8, 1.2]` (±20%) or `[0.5, 1]`. */
  jitter: readonly [number, number];
}

/** The one backoff formula: the delay before the next try after `failures` failures (1-based). */
export function backoffDelay(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const { delaysMs, jitter } = policy;
  if (!delaysMs.length) return 0;
  const base = delaysMs[Math.min(Math.max(failures, 1), delaysMs.length) - 1] ?? 0;
  return Math.round(base * (jitter[0] + (jitter[1] - jitter[0]) * random()));
}

/** Delays doubling from `initialMs`, capped at `maxMs`, for `count` failures: exponential backoff as a {@link BackoffPolicy}'s delays. */
export function exponentialDelays(initialMs: number, maxMs: number, count: number): number[] {
  return Array.from({ length: Math.max(1, count) }, (_, i) => Math.min(maxMs, initialMs * 2 ** i));
}
