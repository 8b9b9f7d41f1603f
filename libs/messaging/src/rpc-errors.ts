import type { ErrorCode, Issue, RpcError } from '@trellis/contracts';

/**
 * Thrown by an RPC handler to answer with a domain error: the caller receives
 * `{ ok: false, error: { code, message, issues } }`. Any other error becomes `internal`
 * with a generic message (details stay in the server's log).
 */
export class RpcFailure extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RpcFailure';
  }

  toRpcError(): RpcError {
    return { code: this.code, message: this.message, ...(this.issues?.length ? { issues: this.issues } : {}) };
  }
}

/**
 * What `RpcClient.call` throws: the server's `{ ok: false }` error, or `unavailable` when
 * nobody answered (no responders, timeout, connection closed), or `internal` for a reply
 * that does not fit the method's contract.
 */
export class RpcCallError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: Issue[] | undefined,
    /** `<service>.<method>` called. */
    readonly method: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RpcCallError';
  }
}
