import { TrellisError, type Issue } from '@trellis/contracts';

export type GatewayErrorCode =
  | 'unauthenticated'
  | 'invalid_argument'
  | 'not_found'
  | 'conflict'
  | 'idempotency_conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'budget_exhausted';

/** Errors the gateway itself raises (before or instead of asking another service). */
export class GatewayError extends TrellisError<GatewayErrorCode> {
  constructor(
    code: GatewayErrorCode,
    message: string,
    issues?: Issue[],
    /** Seconds after which the request may succeed (429): the `Retry-After` header. */
    retryAfterSeconds?: number,
  ) {
    super(code, message, { issues, retryable: retryAfterSeconds !== undefined, ...(retryAfterSeconds === undefined ? {} : { retryAfterMs: retryAfterSeconds * 1000 }) });
  }

  /** Seconds after which the request may succeed, when the gateway knows (429). */
  get retryAfterSeconds(): number | undefined {
    return this.retryAfterMs === undefined ? undefined : Math.ceil(this.retryAfterMs / 1000);
  }
}
