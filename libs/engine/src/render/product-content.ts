import { stringify } from 'csv-stringify/sync';
import { csvSourceProblem } from '../spec/products';
import { liquid } from './liquid';
import { renderPrompt, type PromptScope } from './render-prompt';
import { toRenderError } from './render-error';

/** The formats a product file can have (the pipeline spec's `products[].format`). */
export type ProductFormat = 'text' | 'json' | 'csv' | 'markdown';

/**
 * A product whose content cannot be built from the run's outputs. The message names the
 * product and says what was wrong; nothing gets better on a retry.
 */
export class ProductError extends Error {
  override readonly name = 'ProductError';
}

/**
 * The content of one product file. `from` is a Liquid template when it contains `{{` or
 * `{%` (its rendering is the text), otherwise a reference such as `steps.outline.output` or
 * `steps.table.output.rows`, written in the product's format: text as it is; structured data as
 * JSON (pretty for `json`); for `csv`, an array of flat objects as RFC 4180 CSV (see `toCsv`).
 * Throws `ProductError` naming the product when it cannot be built.
 */
export function productContent(product: { path: string; from: string; format: ProductFormat }, scope: PromptScope): string {
  const isTemplate = /\{\{|\{%/.test(product.from);
  if (product.format === 'csv') {
    const problem = csvSourceProblem(product.from);
    if (problem) throw new ProductError(`product "${product.path}" (csv): ${problem}`);
    return toCsv(product.path, product.from.trim(), referenced(product, scope));
  }
  if (isTemplate) return attempt(product, () => renderPrompt(product.from, scope));
  const value = referenced(product, scope);
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null, null, product.format === 'json' ? 2 : 0);
}

/**
 * RFC 4180 CSV from an array of flat objects: a header of every key in the order first seen,
 * then one record per object (a missing key is an empty cell), CRLF between records; a cell
 * with a comma, a quote or a line break is quoted, quotes doubled. Cells are text, numbers,
 * booleans (`true`/`false`) or null (empty). Anything else (a nested object or array, a row
 * that is not an object) is a `ProductError` naming the row and the column.
 */
function toCsv(path: string, source: string, value: unknown): string {
  const refuse = (why: string) => new ProductError(`product "${path}" (csv): ${why}; CSV needs an array of objects whose values are text, numbers, booleans or null`);
  if (!Array.isArray(value)) throw refuse(`${source} is ${kindOf(value)}, not an array`);
  const columns: string[] = [];
  const seen = new Set<string>();
  value.forEach((row: unknown, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) throw refuse(`row ${i + 1} of ${source} is ${kindOf(row)}, not an object`);
    for (const [key, cell] of Object.entries(row)) {
      if (cell !== null && typeof cell === 'object') throw refuse(`row ${i + 1} of ${source}, column "${key}", is ${kindOf(cell)}`);
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  });
  if (!value.length) return '';
  return stringify(value as Array<Record<string, unknown>>, {
    header: true,
    columns,
    record_delimiter: 'windows',
    // The default quotes only cells holding the whole record delimiter; a lone CR or LF needs quotes too.
    quoted_match: /[\r\n]/,
    cast: { boolean: (b: boolean) => String(b) },
  });
}

/** The value a reference names, with Liquid's own lookup rules (so `.size`, `[0]` mean what they mean in a prompt). */
function referenced(product: { path: string; from: string }, scope: PromptScope): unknown {
  return attempt(product, () => {
    try {
      return liquid.evalValueSync(product.from, { inputs: scope.inputs, steps: scope.steps }) as unknown;
    } catch (error) {
      throw toRenderError(error);
    }
  });
}

function attempt<T>(product: { path: string }, build: () => T): T {
  try {
    return build();
  } catch (error) {
    throw new ProductError(`product "${product.path}": ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 40 ? 'text' : `the text ${JSON.stringify(value)}`;
  return `the ${typeof value} ${String(value)}`;
}
