import { TrellisError, type FailureInfo } from '@trellis/contracts';

/** Why a tool failed; `retryable` decides whether the step is tried again under its retry policy. */
export class ToolError extends TrellisError {
  constructor(message: string, code: string, retryable = false, options?: { cause?: unknown }) {
    super(code, message, { retryable, cause: options?.cause });
  }

  /** The failure as a run records it (`tool.<code>`). */
  override toFailureInfo(): FailureInfo {
    return { ...super.toFailureInfo(), code: `tool.${this.code}` };
  }
}
