import type { Issue, PipelineSpec } from '@trellis/contracts';
import { getOwn, isPlainObject, setOwn } from '../util/records';
import { didYouMean } from '../util/suggest';
import { article, describeValue, hasInputType } from './input-types';

/** The inputs a run will see, or every reason they are not acceptable. */
export type ResolveInputsResult = { ok: true; inputs: Record<string, unknown> } | { ok: false; issues: Issue[] };

/**
 * Checks a run's inputs against the spec and fills in defaults. Rules, all reported at once:
 * an undeclared input is rejected; a required input must be given (null counts as not
 * given); a given value must have the declared type, without coercion. An optional input
 * that is neither given nor defaulted resolves to `null`, so `{{ inputs.x }}` renders
 * empty and `{% if inputs.x %}` is false, instead of failing the run halfway through.
 */
export function resolveInputs(spec: PipelineSpec, given: Record<string, unknown>): ResolveInputsResult {
  const issues: Issue[] = [];
  const inputs: Record<string, unknown> = {};
  if (!isPlainObject(given)) {
    return { ok: false, issues: [{ path: ['inputs'], message: `inputs must be an object, got ${describeValue(given)}` }] };
  }
  const declared = Object.keys(spec.inputs);

  for (const name of Object.keys(given)) {
    if (getOwn(spec.inputs, name) === undefined) {
      const known = declared.length > 0 ? `declared inputs: ${declared.join(', ')}` : 'this pipeline declares no inputs';
      issues.push({ path: ['inputs', name], message: `unknown input "${name}" (${known})${didYouMean(name, declared)}` });
    }
  }

  for (const [name, input] of Object.entries(spec.inputs)) {
    const value = getOwn(given, name);
    if (value === undefined || value === null) {
      if (input.required) issues.push({ path: ['inputs', name], message: `missing required input "${name}" (${input.type})` });
      // structuredClone: a run must never share (and so never mutate) the spec's default.
      else setOwn(inputs, name, input.default === undefined ? null : structuredClone(input.default));
      continue;
    }
    if (!hasInputType(value, input.type)) {
      issues.push({
        path: ['inputs', name],
        message: `input "${name}" must be ${article(input.type)}, got ${describeValue(value)}`,
      });
      continue;
    }
    setOwn(inputs, name, value);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, inputs };
}
