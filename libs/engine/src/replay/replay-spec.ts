import type { Issue, PipelineSpec } from '@trellis/contracts';
import { getOwn, setOwn } from '../util/records';

/**
 * A replay's `models` override as a spec: each named step gets `model:` (which wins over an
 * expert's choice and the defaults), so the replay's pipeline compiles, is checked and is
 * stored like any spec, and the steps it changes are found by comparing definitions.
 */
export function specWithModels(spec: PipelineSpec, models: Readonly<Record<string, string>>): { ok: true; spec: PipelineSpec } | { ok: false; issues: Issue[] } {
  const issues: Issue[] = [];
  const steps: PipelineSpec['steps'] = {};
  for (const [id, step] of Object.entries(spec.steps)) setOwn(steps, id, step);
  for (const [stepId, model] of Object.entries(models)) {
    const step = getOwn(spec.steps, stepId);
    if (!step) issues.push({ path: ['overrides', 'models', stepId], message: `the pipeline has no step "${stepId}"` });
    else if (step.tool !== undefined) issues.push({ path: ['overrides', 'models', stepId], message: `step "${stepId}" runs a tool, not a model` });
    else setOwn(steps, stepId, { ...step, model });
  }
  return issues.length ? { ok: false, issues } : { ok: true, spec: { ...spec, steps } };
}
