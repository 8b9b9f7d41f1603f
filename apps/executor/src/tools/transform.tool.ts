import { isCelError, isCelList, isCelMap, isCelUint, run, type CelInput } from '@bufbuild/cel';
import type { ToolDefinition } from '@trellis/contracts';
import { z } from 'zod';
import { ToolError } from './tool.errors';

const TransformInput = z.object({
  /** A CEL expression over `data`, e.g. `{"names": data.items.map(i, i.name)}`. */
  expression: z.string().min(1),
  /** The JSON to reshape; a string is parsed as JSON when it is JSON. */
  data: z.unknown(),
});

/**
 * Reshapes JSON with a CEL expression: no code execution, no I/O, always terminates (CEL is
 * not Turing-complete), so a pipeline author cannot run anything on the executor with it.
 */
export const transformTool: ToolDefinition<z.infer<typeof TransformInput>> = {
  name: 'transform',
  description: 'Reshape JSON with a CEL expression over `data`.',
  input: TransformInput,
  run({ expression, data }) {
    let result: unknown;
    try {
      result = run(expression, { data: toCelInput(data) as CelInput });
    } catch (err) {
      throw new ToolError(`transform: expression does not parse: ${(err as Error).message}`, 'invalid_expression');
    }
    if (isCelError(result)) throw new ToolError(`transform: ${result.message}`, 'evaluation_failed');
    return fromCel(result);
  },
};

function toCelInput(data: unknown): unknown {
  if (typeof data !== 'string') return data ?? null;
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

/** CEL values back to plain JSON: maps to objects, lists to arrays, ints to numbers. */
function fromCel(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (isCelUint(value)) return Number(value.value);
  if (isCelList(value)) return [...value].map(fromCel);
  if (isCelMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value.entries()) out[String(k)] = fromCel(v);
    return out;
  }
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  return value;
}
