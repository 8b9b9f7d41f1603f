/** Why a tool failed; `retryable` decides whether the step is tried again under its retry policy. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ToolError';
  }
}
