import { z } from 'zod';
import { nameSchema } from './names';

/** A tool's name, as a step's `tool:` names it and as the executor's registry knows it. */
export const ToolName = nameSchema('tool names are');

/** What a tool's `run` receives besides its input. */
export interface ToolContext {
  /** Aborted when the run is cancelled, the step times out or the executor stops: stop work and return or throw. */
  signal: AbortSignal;
}

/**
 * A tool a pipeline step can call with `tool:` and `with:`. `input` validates the arguments
 * (after their templates are rendered); `run` may be sync or async. Its result becomes the
 * step's output: a string as is, anything else as JSON text plus `structured`.
 */
export interface ToolDefinition<I = unknown, O = unknown> {
  /** Lower-case letters, digits, `-` and `_`; unique in the executor. */
  name: string;
  description: string;
  input: z.ZodType<I>;
  run(input: I, context: ToolContext): O | Promise<O>;
}

/** The shape a custom tool module's export must have (checked when the executor loads it). */
export const ToolDefinitionShape = z.object({
  name: ToolName,
  description: z.string().min(1),
  // Duck-typed: a tool module may bring its own copy of zod.
  input: z.custom<z.ZodType>((v) => typeof (v as { safeParse?: unknown } | null)?.safeParse === 'function', 'must be a zod schema'),
  run: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'must be a function'),
});
