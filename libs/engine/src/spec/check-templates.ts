import type { Issue } from '@trellis/contracts';
import { upstreamOf, type DependencyGraph } from '../graph/topology';
import { toRenderError } from '../render/render-error';
import { templateReferences, type TemplateReference } from '../render/template-variables';
import { didYouMean } from '../util/suggest';
import type { SourceLocator } from './parse-source';
import type { SpecOutline, StepOutline } from './spec-outline';

/**
 * Checks every prompt and system template before any run: it parses, and each variable it
 * reads exists when the step runs. A step sees `inputs.<declared>` and
 * `steps.<id>.output` of its transitive upstream steps, nothing else; a reference to any
 * other step would render before (or without) that step's output.
 */
export function checkTemplates(outline: SpecOutline, graph: DependencyGraph, locator: SourceLocator): Issue[] {
  const inputs = outline.inputs.map((i) => i.name);
  const steps = outline.steps.map((s) => s.id);
  const issues: Issue[] = [];
  for (const step of outline.steps) {
    const upstream = upstreamOf(graph, step.id);
    for (const { field, path: at, text } of step.templates) {
      const path = ['steps', step.id, ...at];
      let references: TemplateReference[];
      try {
        references = templateReferences(text);
      } catch (error) {
        const e = toRenderError(error);
        const where = e.line !== undefined && e.column !== undefined ? locator.locateInText(path, e.line, e.column) : locator.locate(path);
        issues.push({ path, message: `${field} template: ${e.message}`, ...where });
        continue;
      }
      for (const reference of references) {
        const problem = referenceProblem(reference, step, { inputs, steps, upstream });
        if (problem === undefined) continue;
        issues.push({
          path,
          message: `${field} template, line ${reference.line}, column ${reference.column}: ${problem}`,
          ...locator.locateInText(path, reference.line, reference.column),
        });
      }
    }
  }
  return issues;
}

function referenceProblem(
  reference: TemplateReference,
  step: StepOutline,
  known: { inputs: string[]; steps: string[]; upstream: Set<string> },
): string | undefined {
  const [root, name, field] = reference.path;
  const shown = reference.path.map(String).join('.');
  if (root === 'inputs') {
    if (name === undefined || known.inputs.includes(String(name))) return undefined;
    return `unknown input "${String(name)}" in "${shown}"; declare it under inputs${didYouMean(String(name), known.inputs)}`;
  }
  if (root === 'steps') {
    if (name === undefined) {
      return reference.computed
        ? 'name the step literally (steps.<id>.output) so that its dependency can be checked'
        : '"steps" alone is not available; use steps.<id>.output';
    }
    const id = String(name);
    if (!known.steps.includes(id)) return `unknown step "${id}" in "${shown}"${didYouMean(id, known.steps)}`;
    if (id === step.id) return `step "${id}" cannot read its own output`;
    if (!known.upstream.has(id)) {
      return `step "${id}" is not upstream of "${step.id}": add "${id}" to its depends_on`;
    }
    if (field === undefined && !reference.computed) return `use "steps.${id}.output"; a step exposes only its output`;
    if (field !== undefined && field !== 'output') return `"${shown}": a step exposes only "output"`;
    return undefined;
  }
  return `unknown variable "${String(root)}": a template reads only inputs.<name> and steps.<id>.output`;
}
