import { liquid, parseTemplate } from './liquid';
import { toRenderError } from './render-error';

/**
 * What a prompt can see: the run's resolved inputs and the outputs of its upstream steps.
 * Matches `StepReady.context` in the contracts.
 */
export interface PromptScope {
  inputs: Record<string, unknown>;
  steps: Record<string, { output: unknown }>;
}

/**
 * Renders a prompt (or system) template. Throws `RenderError` on a syntax error, on a
 * missing variable (naming it) or when a render limit is hit; the caller should treat
 * any of these as a permanent failure of the step.
 */
export function renderPrompt(template: string, scope: PromptScope): string {
  const parsed = parseTemplate(template);
  try {
    // A fresh top-level object: tags such as `increment` write into the scope they are given.
    return String(liquid.renderSync(parsed, { inputs: scope.inputs, steps: scope.steps }));
  } catch (error) {
    throw toRenderError(error);
  }
}
