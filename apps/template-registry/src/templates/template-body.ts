import type { ChatMessage, Issue, TemplateBody } from '@trellis/contracts';
import { RenderError, renderPrompt, templateVariables } from '@trellis/engine';
import { RegistryError } from '../registry.errors';

/**
 * A template reads its variables as `{{ inputs.<name> }}`, as a pipeline prompt reads the
 * pipeline's inputs; a step's `with:` (or a render preview's `variables`) provides them.
 * Everything here goes through the engine's strict, sandboxed Liquid: no file includes,
 * own properties only, render limits.
 */

type Part = { path: Array<string | number>; text: string };

function parts(body: TemplateBody): Part[] {
  return typeof body === 'string' ? [{ path: ['body'], text: body }] : body.map((m, i) => ({ path: ['body', i, 'content'], text: m.content }));
}

/**
 * The variables the body reads, sorted. Checked against `declared` when given: reading an
 * undeclared variable or declaring one the body never reads is an error naming it.
 */
export function bodyVariables(body: TemplateBody, declared?: string[]): string[] {
  const issues: Issue[] = [];
  const used = new Set<string>();
  for (const part of parts(body)) {
    let paths: string[][];
    try {
      paths = templateVariables(part.text);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      issues.push(issue(part.path, err.message, err));
      continue;
    }
    for (const path of paths) {
      if (path[0] === 'inputs' && path[1] !== undefined) used.add(path[1]);
      else issues.push({ path: part.path, message: `"${path.join('.') || '(computed)'}" is not available: a template reads its variables as {{ inputs.<name> }}` });
    }
  }
  if (declared) {
    const given = new Set(declared);
    for (const name of used) if (!given.has(name)) issues.push({ path: ['variables'], message: `the body reads "inputs.${name}", which is not declared` });
    declared.forEach((name, i) => {
      if (!used.has(name)) issues.push({ path: ['variables', i], message: `"${name}" is declared but the body never reads inputs.${name}` });
    });
  }
  if (issues.length) throw new RegistryError('invalid_argument', `the template has ${issues.length} problem(s)`, issues);
  return [...used].sort();
}

/** Renders every part with `variables` as `inputs`; a missing variable is an error naming it. */
export function renderBody(body: TemplateBody, variables: Record<string, unknown>): TemplateBody {
  const scope = { inputs: variables, steps: {} };
  const render = (text: string, path: Array<string | number>) => {
    try {
      return renderPrompt(text, scope);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      if (err.reason === 'undefined_variable') {
        // `inputs.product` → `product`; `inputs.product.constructor` keeps its tail, so the error names what was missing.
        const name = err.variable?.replace(/^inputs\./, '') ?? '';
        throw new RegistryError('invalid_argument', `missing variable "${name}": ${err.message}`, [{ path: ['variables', ...name.split('.')], message: err.message }]);
      }
      throw new RegistryError('invalid_argument', `the template cannot be rendered: ${err.message}`, [issue(path, err.message, err)]);
    }
  };
  if (typeof body === 'string') return render(body, ['body']);
  return body.map((m: ChatMessage, i) => ({ role: m.role, content: render(m.content, ['body', i, 'content']) }));
}

function issue(path: Array<string | number>, message: string, err: RenderError): Issue {
  return { path, message, ...(err.line !== undefined ? { line: err.line } : {}), ...(err.column !== undefined ? { column: err.column } : {}) };
}
