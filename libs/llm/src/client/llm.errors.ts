import { TrellisError, type FailureInfo } from '@trellis/contracts';
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from 'openai';

/**
 * Why a model call failed, in our words rather than the provider's. The messaging layer reads
 * `retryable` and `retryAfterMs` (never the code) to choose between nak(delay) and term.
 */
export type LlmErrorCode =
  /** 429: the provider's rate limit or quota. Retryable. */
  | 'rate_limited'
  /** 5xx: the provider failed or is overloaded. Retryable. */
  | 'provider_unavailable'
  /** No answer within the client's timeout, or 408. Retryable. */
  | 'timeout'
  /** Connection refused or reset, DNS failure: no HTTP answer at all. Retryable. */
  | 'connection'
  /** 409: the provider reports a conflicting concurrent request. Retryable. */
  | 'conflict'
  /** The caller's signal aborted the call (cancellation, shutdown). Not retryable: nobody wants it. */
  | 'aborted'
  /** 401: the API key is wrong. Not retryable. */
  | 'unauthorized'
  /** 403: the key may not use this model or endpoint. Not retryable. */
  | 'forbidden'
  /** 404: unknown model (or endpoint). Not retryable. */
  | 'not_found'
  /** 400, 422 and any other 4xx: the request itself is wrong. Not retryable. */
  | 'bad_request'
  /** A 2xx answer without a usable choice. Retryable: a provider hiccup more often than not. */
  | 'invalid_response'
  /** Anything else (a bug or an unexpected SDK failure). Retryable, bounded by max deliveries. */
  | 'unknown';

/** Options of {@link LlmError}. */
export interface LlmErrorOptions {
  code: LlmErrorCode;
  retryable: boolean;
  status?: number;
  retryAfterMs?: number;
  /** The provider's own error code, e.g. `model_not_found`, `rate_limit_exceeded`. */
  providerCode?: string;
  /** The provider's request id (`x-request-id`), for support tickets. */
  requestId?: string;
  cause?: unknown;
}

/** The one error a model call throws; the SDK's error is kept as `cause`. */
export class LlmError extends TrellisError<LlmErrorCode> {
  /** HTTP status, when the provider answered at all. */
  readonly status?: number;
  readonly providerCode?: string;
  readonly requestId?: string;

  /** `retryAfterMs`: the delay the provider asked for (`retry-after-ms` or `Retry-After`), when it did. */
  constructor(message: string, options: LlmErrorOptions) {
    super(options.code, message, { retryable: options.retryable, retryAfterMs: options.retryAfterMs, cause: options.cause });
    if (options.status !== undefined) this.status = options.status;
    if (options.providerCode !== undefined) this.providerCode = options.providerCode;
    if (options.requestId !== undefined) this.requestId = options.requestId;
  }

  /** The failure as a run records it (`llm.<code>`). */
  override toFailureInfo(): FailureInfo {
    return { ...super.toFailureInfo(), code: `llm.${this.code}` };
  }
}

const RETRYABLE_STATUS: Record<number, LlmErrorCode> = { 408: 'timeout', 409: 'conflict', 429: 'rate_limited' };
const FINAL_STATUS: Record<number, LlmErrorCode> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found' };

/**
 * Maps whatever a model call threw to an {@link LlmError}. `signal` is the caller's: an abort
 * it caused is `aborted`, while an abort the SDK caused (its timeout) is `timeout`.
 */
export function toLlmError(err: unknown, signal?: AbortSignal, now: () => number = Date.now): LlmError {
  if (err instanceof LlmError) return err;
  if (err instanceof APIUserAbortError || (signal?.aborted && !(err instanceof APIError && err.status !== undefined))) {
    return new LlmError('model call aborted by the caller', { code: 'aborted', retryable: false, cause: err });
  }
  if (err instanceof APIConnectionTimeoutError) {
    return new LlmError(`model call timed out: ${err.message}`, { code: 'timeout', retryable: true, cause: err });
  }
  if (err instanceof APIConnectionError) {
    const detail = describeCause(err.cause);
    return new LlmError(`could not reach the model provider: ${err.message}${detail ? ` (${detail})` : ''}`, {
      code: 'connection',
      retryable: true,
      cause: err,
    });
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    const retryableCode = status >= 500 ? 'provider_unavailable' : RETRYABLE_STATUS[status];
    const code = retryableCode ?? FINAL_STATUS[status] ?? 'bad_request';
    const retryAfterMs = retryableCode ? retryAfterFrom(err.headers, now) : undefined;
    return new LlmError(`model provider answered ${err.message}`, {
      code,
      retryable: retryableCode !== undefined,
      status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(typeof err.code === 'string' ? { providerCode: err.code } : {}),
      ...(err.requestID ? { requestId: err.requestID } : {}),
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new LlmError(`model call failed: ${message}`, { code: 'unknown', retryable: true, cause: err });
}

// How OpenAI-compatible servers word a refusal of the structured-output mode: OpenAI and Azure
// ("Invalid parameter: 'response_format' of type 'json_schema' is not supported with this
// model", "response_format value as json_schema is enabled only for api versions …"), LiteLLM
// ("does not support parameters: ['response_format']"), llama.cpp ("response_format type must
// be one of …"), TGI (422 "response_format: unknown variant `json_schema`"), vLLM ("The
// provided JSON schema contains features not supported by xgrammar"), DeepSeek ("This
// response_format type is unavailable now").
const RESPONSE_FORMAT_WORDS = /response_format|response format|json_schema|json schema|json_object|structured output/i;

/**
 * Whether a failed call is the provider refusing `response_format` rather than the request as
 * a whole: a 400 or 422 (a validation error), or a 500 (older llama.cpp servers throw one for
 * an unknown type), whose message names the structured-output mode. Such a call can be made
 * again at once with the shape asked for in the prompt instead.
 */
export function rejectsResponseFormat(error: LlmError): boolean {
  return (error.status === 400 || error.status === 422 || error.status === 500) && RESPONSE_FORMAT_WORDS.test(error.message);
}

/**
 * The delay a response asks for: `retry-after-ms` (OpenAI's, precise) first, then `Retry-After`
 * as seconds or an HTTP date. Undefined when absent or unreadable; never negative.
 */
export function retryAfterFrom(headers: Pick<Headers, 'get'> | undefined, now: () => number = Date.now): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms != null && ms.trim() !== '') {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  }
  const after = headers?.get('retry-after')?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Math.round(Number(after) * 1000);
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

function describeCause(cause: unknown): string | undefined {
  // undici's "fetch failed" hides the useful part (ECONNREFUSED, "other side closed") one level down.
  const inner = cause instanceof Error ? (cause.cause ?? cause) : cause;
  if (inner instanceof Error) {
    const code = (inner as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${inner.message}` : inner.message;
  }
  return undefined;
}
