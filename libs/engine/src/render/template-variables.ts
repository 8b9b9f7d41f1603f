import { type Variable } from 'liquidjs';
import { liquid, parseTemplate } from './liquid';

/** One reference to a variable the template expects from its scope. */
export interface TemplateReference {
  /** Literal segments, cut before the first computed one (`inputs[steps.a.output]` → `['inputs']`). */
  path: Array<string | number>;
  /** True when the path continued with a computed segment that cannot be known before a run. */
  computed: boolean;
  line: number;
  column: number;
}

/**
 * Every variable the template reads from its scope (loop variables and `assign`ed names
 * excluded), with where it appears. Throws `RenderError` when the template does not parse.
 */
export function templateReferences(template: string): TemplateReference[] {
  const analysis = liquid.analyzeSync(parseTemplate(template), { partials: false });
  const references: TemplateReference[] = [];
  for (const variables of Object.values(analysis.globals)) {
    for (const variable of variables) references.push(toReference(variable));
  }
  return references.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * The variable paths a template references, each once, e.g. `[['inputs', 'idea'],
 * ['steps', 'outline', 'output']]`. Throws `RenderError` when the template does not parse.
 */
export function templateVariables(template: string): string[][] {
  const seen = new Map<string, string[]>();
  for (const reference of templateReferences(template)) {
    const path = reference.path.map(String);
    seen.set(JSON.stringify(path), path);
  }
  return [...seen.values()];
}

function toReference(variable: Variable): TemplateReference {
  const path: Array<string | number> = [];
  let computed = false;
  for (const segment of variable.segments) {
    if (typeof segment === 'object') {
      computed = true;
      break;
    }
    path.push(segment);
  }
  return { path, computed, line: variable.location.row, column: variable.location.col };
}
