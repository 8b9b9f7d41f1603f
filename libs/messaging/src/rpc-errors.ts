import { DomainError, type ErrorCode, type Issue } from '@trellis/contracts';

/**
 * Thrown by an RPC handler to answer with a domain error: the caller receives
 * `{ ok: false, error: { code, message, issues } }` (`toRpcError`). Any other error becomes
 * `internal` with a generic message (details stay in the server's log).
 */
export class RpcFailure extends DomainError {
  constructor(code: ErrorCode, message: string, issues?: Issue[], options?: { cause?: unknown }) {
    super(code, message, issues, options);
  }
}

/**
 * What `RpcClient.call` throws: the server's `{ ok: false }` error, or `unavailable` when
 * nobody answered (no responders, timeout, connection closed), or `internal` for a reply
 * that does not fit the method's contract. Retryable as its code says.
 */
export class RpcCallError extends DomainError {
  constructor(
    code: ErrorCode,
    message: string,
    issues: Issue[] | undefined,
    /** `<service>.<method>` called. */
    readonly method: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, issues, options);
  }
}
