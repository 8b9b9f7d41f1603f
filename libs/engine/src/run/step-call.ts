import type { ModelParameters, PinnedTemplate, ResolvedTemplate, StepReady, VerifyRequested } from '@trellis/contracts';
import { builtInTemplate } from '../orchestration/built-in-templates';
import { callParams, effectiveParameters } from '../orchestration/parameters';
import type { CompiledStep } from '../spec/compiled-pipeline';
import { laterRoundSchema } from '../verify/reuse';
import type { RunRecord } from './run-record';
import type { IterationRecord } from './rounds';

/**
 * What a step's jobs carry from the run's pins (ADR 0012): the executor and the verifier ask
 * no registry, so the planner puts the pinned bodies and the parameters in effect into each
 * job. Pure: the run record and the compiled step in, job fields out.
 */

/**
 * The template the run pinned for `ref`. A run started before the orchestration's own
 * templates were pinned has no pin for a built-in name (`standard`, `trellis.judge`, …):
 * it gets version 1, the text it was started with. Any other missing pin is a bug.
 */
export function pinnedTemplate(run: Pick<RunRecord, 'id' | 'templates'>, ref: string): PinnedTemplate & Pick<ResolvedTemplate, 'variables'> {
  const pin = run.templates.find((t) => t.ref === ref);
  if (pin) return { name: pin.name, version: pin.version, body: pin.body, parameters: pin.parameters, variables: pin.variables };
  const builtIn = builtInTemplate(ref);
  if (builtIn) return { name: builtIn.name, version: 1, body: builtIn.body, parameters: builtIn.parameters, variables: [] };
  throw new Error(`run ${run.id} has no pin for template ${ref}`);
}

/** A model step's call as its job states it: model, system text, template and parameters. */
export interface StepCall {
  model: string;
  system?: string;
  template?: NonNullable<StepReady['template']>;
  params: StepReady['params'];
  /** The same parameters, spelled as a template's (the run view's). */
  parameters: Omit<ModelParameters, 'model'>;
}

/**
 * The call of one attempt of a model or template step: the pinned personality before the
 * step's own system text, the pinned template version with the step's `with`, and the
 * parameters in effect (`effectiveParameters`: the step's own settings, then the template
 * version's). A tool step has none of these.
 */
export function stepCall(spec: CompiledStep, run: Pick<RunRecord, 'id' | 'templates'>): StepCall {
  if (spec.kind === 'tool') return { model: spec.model, params: {}, parameters: {} };
  const ref = spec.template ? (spec.template.selector ? `${spec.template.name}@${spec.template.selector}` : spec.template.name) : undefined;
  const template = ref !== undefined ? pinnedTemplate(run, ref) : undefined;
  const effective = effectiveParameters(spec, template?.parameters);
  const personality = spec.personality !== undefined ? pinnedTemplate(run, spec.personality).body : undefined;
  const system = [typeof personality === 'string' ? personality : '', spec.system ?? ''].filter(Boolean).join('\n\n');
  return {
    model: effective.model,
    ...(system ? { system } : {}),
    ...(template && spec.template ? { template: { name: template.name, version: template.version, body: template.body, with: spec.template.with } } : {}),
    params: callParams(effective.parameters),
    parameters: effective.parameters,
  };
}

/** The output contract of a round: a round that keeps fields is asked for the others only. */
export function roundOutput(spec: CompiledStep, round: IterationRecord | undefined): CompiledStep['output'] {
  if (!spec.output?.schema || !round?.reusedFields?.length) return spec.output;
  return { ...spec.output, schema: laterRoundSchema(spec.output.schema, round.reusedFields) };
}

/** What a verification job carries from the pins: the judge and feedback prompts, the judge model, the reusable fields. */
export function verifyCall(spec: CompiledStep, run: Pick<RunRecord, 'id' | 'templates'>): Pick<VerifyRequested, 'judgeTemplate' | 'feedbackTemplate' | 'judgeModel' | 'reuse'> {
  const verify = spec.verify!;
  const judge = verify.judgeTemplate !== undefined ? pinnedTemplate(run, verify.judgeTemplate) : undefined;
  const feedback = pinnedTemplate(run, verify.feedbackTemplate);
  // The judge model of gates that name none: the pipeline's `judge_model`, else the judge
  // template version's `model`; without either the verifier takes VERIFIER_JUDGE_MODEL, then the step's model.
  const judgeModel = verify.judgeModel ?? judge?.parameters.model;
  return {
    ...(judgeModel !== undefined ? { judgeModel } : {}),
    ...(judge ? { judgeTemplate: { name: judge.name, version: judge.version, body: judge.body, parameters: judge.parameters } } : {}),
    feedbackTemplate: { name: feedback.name, version: feedback.version, body: feedback.body, parameters: feedback.parameters },
    ...(verify.reuse ? { reuse: verify.reuse } : {}),
  };
}
