import type { ErrorCode, Issue } from '@trellis/contracts';

/**
 * A service's domain error: a code from the shared set and, for bad input, every issue
 * found. The JetStream transport turns it into an RPC reply; the gateway alone maps codes to HTTP.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}
