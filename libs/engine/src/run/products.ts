import { productContent, type ProductFormat } from '../render/product-content';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import type { RunSnapshot } from './run-record';
import { stepValue } from './run-record';

const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8',
} as const satisfies Record<ProductFormat, string>;

/**
 * One product file of a run, built and ready to store under `<runId>/<path>`; or, when it
 * could not be built (a csv product whose rows hold nested values, a template failing on a
 * value), its `error` and no content: the run keeps its status and the run view says why.
 */
export type ProductFile = { path: string; contentType: string } & ({ content: string; error?: undefined } | { content?: undefined; error: string });

/** The product files of a finished run, from its inputs and step outputs, in the spec's order. */
export function buildProducts(pipeline: CompiledPipeline, snapshot: RunSnapshot): ProductFile[] {
  const scope = {
    inputs: snapshot.run.inputs,
    steps: Object.fromEntries(Object.entries(snapshot.steps).map(([id, s]) => [id, { output: stepValue(s) }])),
  };
  return pipeline.products.map((product) => {
    const contentType = CONTENT_TYPES[product.format];
    try {
      return { path: product.path, contentType, content: productContent(product, scope) };
    } catch (err) {
      return { path: product.path, contentType, error: err instanceof Error ? err.message : String(err) };
    }
  });
}
