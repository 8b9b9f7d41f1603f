import type { Issue } from '@trellis/contracts';

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
export class GatewayError extends Error {
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly issues?: Issue[],
    /** Seconds after which the request may succeed (429): the `Retry-After` header. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}
