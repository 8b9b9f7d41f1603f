import { renderPrompt } from '../render/render-prompt';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import type { RunSnapshot } from './run-record';
import { stepValue } from './run-record';

const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
} as const;

/** One product file of a run, built and ready to store under `<runId>/<path>`. */
export interface ProductFile {
  path: string;
  contentType: string;
  content: string;
}

/**
 * The product files of a finished run, from its inputs and step outputs. Paths were confined
 * to the run at compile time. A product that cannot be built (a filter failing on a value) is
 * listed in `failed` with why; the others are built.
 */
export function buildProducts(pipeline: CompiledPipeline, snapshot: RunSnapshot): { files: ProductFile[]; failed: Array<{ path: string; message: string }> } {
  const scope = {
    inputs: snapshot.run.inputs,
    steps: Object.fromEntries(Object.entries(snapshot.steps).map(([id, s]) => [id, { output: stepValue(s) }])),
  };
  const files: ProductFile[] = [];
  const failed: Array<{ path: string; message: string }> = [];
  for (const product of pipeline.products) {
    try {
      files.push({ path: product.path, contentType: CONTENT_TYPES[product.format], content: contentOf(product.from, product.format, scope) });
    } catch (err) {
      failed.push({ path: product.path, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return { files, failed };
}

type Scope = { inputs: Record<string, unknown>; steps: Record<string, { output: unknown }> };

/**
 * `from` is a Liquid template, or a bare reference such as `steps.outline.output`: a bare
 * reference to structured data becomes pretty JSON, to text stays text.
 */
function contentOf(from: string, format: keyof typeof CONTENT_TYPES, scope: Scope): string {
  const bare = /^\s*(inputs|steps)\.([a-z_][a-z0-9_]*)(?:\.(output))?\s*$/i.exec(from);
  if (!bare) return renderPrompt(from, scope);
  const value = bare[1] === 'inputs' ? scope.inputs[bare[2]!] : scope.steps[bare[2]!]?.output;
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null, null, format === 'json' ? 2 : 0);
}
