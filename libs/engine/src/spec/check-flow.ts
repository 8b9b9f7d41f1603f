import type { Issue, PipelineSpec, StepSpec } from '@trellis/contracts';
import { compileCondition } from '../conditions/condition';
import { findCycles } from '../graph/cycles';
import { upstreamOf, type DependencyGraph } from '../graph/topology';
import { templateReferences } from '../render/template-variables';
import { didYouMean } from '../util/suggest';
import type { CompileOptions } from './compiled-pipeline';
import type { SourceLocator } from './parse-source';
import { missingCapabilities, selectModel } from './select-model';
import { csvSourceProblem, productFormat, productPathProblem } from './products';
import { outputFields } from '../verify/reuse';

export const ROUTE_FIELDS = ['on_false', 'on_success', 'on_failure'] as const;
/**
 * The checks that need the whole typed spec: what kind each step is, routing (unknown targets,
 * loops), conditions (parse, functions, what they read), products (paths confined to the run, csv from data),
 * experts (a candidate with the capabilities the step needs), and the output fields `iterate.reuse` keeps.
 */
export function checkFlow(spec: PipelineSpec, deps: DependencyGraph, order: DependencyGraph, locator: SourceLocator, options: CompileOptions): Issue[] {
  const issues: Issue[] = [];
  const ids = Object.keys(spec.steps);
  const report = (path: Array<string | number>, message: string, target: 'value' | 'key' = 'value') =>
    issues.push({ path, message, ...locator.locate(path, target) });

  const key = spec.concurrency?.key;
  if (key !== undefined) {
    const path = ['concurrency', 'key'];
    const compiled = compileCondition(key);
    if (!compiled.ok) {
      for (const p of compiled.problems) {
        const where = p.line !== undefined && p.column !== undefined ? locator.locateInText(path, p.line, p.column) : locator.locate(path);
        issues.push({ path, message: `concurrency key: ${p.message.replace(/conditions? /g, 'the key ')}`, ...where });
      }
    } else {
      for (const input of compiled.condition.inputs) {
        if (!Object.prototype.hasOwnProperty.call(spec.inputs, input)) report(path, `concurrency key: unknown input "${input}"${didYouMean(input, Object.keys(spec.inputs))}`);
      }
      if (compiled.condition.steps.length) report(path, 'concurrency key: it is computed when the run is submitted, before any step: read inputs only');
    }
  }

  for (const [id, step] of Object.entries(spec.steps)) {
    const at = (...rest: Array<string | number>) => ['steps', id, ...rest];
    const kinds = (['prompt', 'template', 'tool'] as const).filter((k) => step[k] !== undefined);
    if (kinds.length !== 1) {
      report(at(), kinds.length === 0 ? 'a step needs one of prompt, template or tool' : `a step has one of prompt, template or tool, not ${kinds.join(' and ')}`, 'key');
    }
    if (step.with !== undefined && step.prompt !== undefined) report(at('with'), '"with" gives the arguments of a tool or the variables of a template; a prompt step reads inputs and steps directly');
    if (step.tool !== undefined) {
      for (const field of ['model', 'expert', 'system', 'personality', 'temperature', 'max_tokens', 'verify'] as const) {
        if (step[field] !== undefined) report(at(field), `a tool step calls no model: remove "${field}"`);
      }
    }

    for (const field of ROUTE_FIELDS) {
      const target = step[field];
      if (target === undefined) continue;
      if (!ids.includes(target)) report(at(field), `unknown step "${target}" in ${field}${didYouMean(target, ids)}`);
      else if (target === id) report(at(field), `a step cannot route to itself`);
    }
    if (step.on_false !== undefined && step.condition === undefined) report(at('on_false'), 'on_false needs a condition');

    const upstream = upstreamOf(order, id);
    if (step.condition !== undefined) {
      const compiled = compileCondition(step.condition);
      if (!compiled.ok) {
        for (const p of compiled.problems) {
          const where = p.line !== undefined && p.column !== undefined ? locator.locateInText(at('condition'), p.line, p.column) : locator.locate(at('condition'));
          issues.push({ path: at('condition'), message: `condition: ${p.message}`, ...where });
        }
      } else {
        for (const input of compiled.condition.inputs) {
          if (!Object.prototype.hasOwnProperty.call(spec.inputs, input)) report(at('condition'), `condition: unknown input "${input}"${didYouMean(input, Object.keys(spec.inputs))}`);
        }
        for (const ref of compiled.condition.steps) {
          if (!ids.includes(ref)) report(at('condition'), `condition: unknown step "${ref}"${didYouMean(ref, ids)}`);
          else if (!upstream.has(ref)) report(at('condition'), `condition: step "${ref}" is not upstream of "${id}": add it to depends_on`);
        }
      }
    }

    checkModel(id, step, spec, options, at, report);
    checkReuse(step, at, report);
    if (step.verify?.judge && !step.verify.gates.some((g) => typeof g === 'object' && 'judge' in g)) {
      report(at('verify', 'judge'), 'verify.judge names the prompt of judge gates, and the step has none: add a judge gate or remove it');
    }
  }

  const { cycles } = findCycles(order);
  const depCycles = new Set(findCycles(deps).cycles.map((c) => [...c].sort().join(',')));
  for (const cycle of cycles) {
    if (depCycles.has([...cycle].sort().join(','))) continue; // reported as a dependency cycle
    // The ordering graph points from a step to what it waits for; show the loop in flow order.
    const first = cycle[0] ?? '';
    const flow = [first, ...cycle.slice(1).reverse(), first];
    report(['steps', first], `routing loop without a bound: ${flow.join(' → ')}; routing may only go forward (repeat a step with retry or verify instead)`, 'key');
  }

  spec.products.forEach((product, i) => {
    const problem = productPathProblem(product.path);
    if (problem) report(['products', i, 'path'], problem);
    const text = /\{\{|\{%/.test(product.from) ? product.from : `{{ ${product.from} }}`;
    for (const p of referenceProblems(text, { spec, ids, upstream: new Set(ids) })) report(['products', i, 'from'], `from: ${p}`);
    const csv = productFormat(product.path, product.format) === 'csv' ? csvSourceProblem(product.from, spec.steps) : undefined;
    if (csv) report(['products', i, 'from'], `a csv product: ${csv}`);
  });
  return issues;
}

function checkModel(
  id: string,
  step: StepSpec,
  spec: PipelineSpec,
  options: CompileOptions,
  at: (...rest: Array<string | number>) => Array<string | number>,
  report: (path: Array<string | number>, message: string) => void,
): void {
  const needs = step.needs ?? [];
  if (step.expert !== undefined) {
    if (step.model !== undefined) report(at('expert'), 'give a model or an expert, not both');
    const candidates = Object.prototype.hasOwnProperty.call(spec.experts, step.expert) ? spec.experts[step.expert] : undefined;
    if (!candidates) {
      report(at('expert'), `unknown expert "${step.expert}"; declare it under experts${didYouMean(step.expert, Object.keys(spec.experts))}`);
      return;
    }
    const chosen = selectModel(step.expert, candidates, step.selection ?? spec.defaults.selection ?? spec.selection, needs, options.catalog);
    if (!chosen.ok) report(at('needs'), chosen.message);
    return;
  }
  const model = step.model ?? spec.model ?? options.defaultModel;
  if (needs.length && options.catalog) {
    const info = Object.prototype.hasOwnProperty.call(options.catalog, model) ? options.catalog[model] : undefined;
    const missing = missingCapabilities(info, needs);
    if (missing.length) report(at('needs'), `model "${model}" lacks ${missing.join(', ')}${info ? '' : ' (it is not in the model catalog)'}`);
  }
}

/** `iterate.reuse` names top-level properties of the step's JSON output schema, and leaves one to write. */
function checkReuse(step: StepSpec, at: (...rest: Array<string | number>) => Array<string | number>, report: (path: Array<string | number>, message: string) => void): void {
  const reuse = step.verify?.iterate.reuse;
  if (!reuse) return;
  const path = at('verify', 'iterate', 'reuse');
  const fields = outputFields(step.output?.schema);
  if (step.output?.format !== 'json' || fields.length === 0) {
    report(path, 'reuse keeps fields of a JSON output: give the step output: { format: json, schema: { type: object, properties: … } }');
    return;
  }
  reuse.forEach((field, i) => {
    if (!fields.includes(field)) report([...path, i], `"${field}" is not a top-level property of the output schema${didYouMean(field, fields)}`);
  });
  if (fields.every((f) => reuse.includes(f))) report(path, 'reuse keeps every field of the output: leave at least one for later rounds to write');
}
/** What is wrong with the variables a Liquid text reads (inputs declared, steps known and upstream). */
function referenceProblems(text: string, known: { spec: PipelineSpec; ids: string[]; upstream: Set<string> }): string[] {
  let refs;
  try {
    refs = templateReferences(text);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  const problems: string[] = [];
  for (const ref of refs) {
    const [root, name] = ref.path;
    if (root === 'inputs' && name !== undefined && !Object.prototype.hasOwnProperty.call(known.spec.inputs, String(name))) {
      problems.push(`unknown input "${String(name)}"`);
    } else if (root === 'steps' && name !== undefined) {
      if (!known.ids.includes(String(name))) problems.push(`unknown step "${String(name)}"`);
      else if (!known.upstream.has(String(name))) problems.push(`step "${String(name)}" is not upstream: add it to depends_on`);
    } else if (root !== 'inputs' && root !== 'steps') {
      problems.push(`unknown variable "${String(root)}": templates read inputs.<name> and steps.<id>.output`);
    }
  }
  return problems;
}

