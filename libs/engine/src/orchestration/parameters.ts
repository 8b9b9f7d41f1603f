import type { ModelParameters, StepReady } from '@trellis/contracts';

/** What a step itself says about its model call (the spec's `model`, `temperature`, `max_tokens`). */
export interface OwnSettings {
  /** The model the compiler chose (named, an expert's pick, the pipeline's or the planner's default). */
  model: string;
  /** The step named `model` itself. */
  modelNamed: boolean;
  params: { temperature?: number; maxTokens?: number };
}

/** The model call's settings in effect: the model, and the sampling parameters in the template's spelling. */
export interface EffectiveParameters {
  model: string;
  parameters: Omit<ModelParameters, 'model'>;
}

/**
 * The parameters of a model call that renders a template version (a template step's prompt,
 * a judge's prompt, the analysis prompt). For each parameter, in order:
 * 1. the step's own setting (`model`, `temperature`, `max_tokens` written on the step);
 * 2. the template version's `parameters` (model, temperature, top_p, max_tokens, penalties, stop, seed);
 * 3. for the model, what the compiler chose (an expert's pick, the pipeline's `model`, the
 *    planner's default); for the rest, nothing: the provider's default.
 * So two versions that differ only in their parameters run differently wherever the step
 * leaves those parameters to the template.
 */
export function effectiveParameters(own: OwnSettings, template: ModelParameters | undefined): EffectiveParameters {
  const t = template ?? {};
  const parameters: Omit<ModelParameters, 'model'> = {};
  const temperature = own.params.temperature ?? t.temperature;
  const maxTokens = own.params.maxTokens ?? t.max_tokens;
  if (temperature !== undefined) parameters.temperature = temperature;
  if (t.top_p !== undefined) parameters.top_p = t.top_p;
  if (maxTokens !== undefined) parameters.max_tokens = maxTokens;
  if (t.presence_penalty !== undefined) parameters.presence_penalty = t.presence_penalty;
  if (t.frequency_penalty !== undefined) parameters.frequency_penalty = t.frequency_penalty;
  if (t.stop !== undefined) parameters.stop = [...t.stop];
  if (t.seed !== undefined) parameters.seed = t.seed;
  return { model: own.modelNamed ? own.model : (t.model ?? own.model), parameters };
}

/** The parameters as a work item carries them (`StepReady.params`). */
export function callParams(p: Omit<ModelParameters, 'model'>): StepReady['params'] {
  return {
    ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
    ...(p.max_tokens !== undefined ? { maxTokens: p.max_tokens } : {}),
    ...(p.top_p !== undefined ? { topP: p.top_p } : {}),
    ...(p.presence_penalty !== undefined ? { presencePenalty: p.presence_penalty } : {}),
    ...(p.frequency_penalty !== undefined ? { frequencyPenalty: p.frequency_penalty } : {}),
    ...(p.stop !== undefined ? { stop: p.stop } : {}),
    ...(p.seed !== undefined ? { seed: p.seed } : {}),
  };
}
