import { LiquidError, UndefinedVariableError } from 'liquidjs';

/** Why a template could not be rendered. None of these gets better on a retry. */
export type RenderErrorReason = 'syntax' | 'undefined_variable' | 'render';

/**
 * A prompt template failed to parse or render. `variable` names the missing variable
 * (e.g. `inputs.idea`), `line`/`column` are positions inside the template (1-based).
 */
export class RenderError extends Error {
  override readonly name = 'RenderError';
  readonly reason: RenderErrorReason;
  readonly variable?: string;
  readonly line?: number;
  readonly column?: number;

  constructor(
    message: string,
    details: { reason: RenderErrorReason; variable?: string; line?: number; column?: number },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.reason = details.reason;
    if (details.variable !== undefined) this.variable = details.variable;
    if (details.line !== undefined) this.line = details.line;
    if (details.column !== undefined) this.column = details.column;
  }
}

/** Liquid appends ", line:1, col:4" to its messages; we carry the position as fields instead. */
const POSITION_SUFFIX = /, line:\d+, col:\d+$/;

export function toRenderError(error: unknown): RenderError {
  if (error instanceof RenderError) return error;
  if (!LiquidError.is(error)) {
    return new RenderError(error instanceof Error ? error.message : String(error), { reason: 'render' }, { cause: error });
  }
  const [line, column] = positionOf(error);
  const at = line === undefined ? '' : ` at line ${line}, column ${column}`;
  if (error instanceof UndefinedVariableError) {
    const variable = variableNameOf(error) ?? error.message.replace(/^undefined variable: /, '').replace(POSITION_SUFFIX, '');
    return new RenderError(`undefined variable "${variable}"${at}`, { reason: 'undefined_variable', variable, line, column }, { cause: error });
  }
  const reason: RenderErrorReason = error.name === 'RenderError' ? 'render' : 'syntax';
  const message = error.message.replace(POSITION_SUFFIX, '');
  return new RenderError(`${message}${at}`, { reason, line, column }, { cause: error });
}

function positionOf(error: LiquidError): [number | undefined, number | undefined] {
  const position = typeof error.token?.getPosition === 'function' ? error.token.getPosition() : [];
  return [position[0], position[1]];
}

function variableNameOf(error: UndefinedVariableError): string | undefined {
  const original: unknown = error.originalError;
  if (original !== null && typeof original === 'object' && 'variableName' in original) {
    const name = (original as { variableName: unknown }).variableName;
    if (typeof name === 'string') return name;
  }
  return undefined;
}
