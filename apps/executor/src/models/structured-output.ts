import type { ChatMessage, StepOutputSpec } from '@trellis/contracts';
import { withJsonInstructions, type ResponseFormat, type StructuredOutputPlan } from '@trellis/llm';
import { z } from 'zod';

/** The answer of a JSON step, parsed; or why it is not acceptable (retryable: the model may do better). */
export type ParsedOutput = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * The messages and `response_format` of a JSON step's call, as its plan says
 * (`planStructuredOutput`). A `json_schema` request carries the shape itself, so the prompt
 * stays as written. Otherwise the last message gets instructions (the schema and the
 * example): they are the only shape a model asked with instructions sees, and JSON mode
 * (`json_object`) needs them too, since it knows no schema and OpenAI refuses it unless the
 * messages say "JSON".
 */
export function jsonRequest(
  spec: StepOutputSpec,
  messages: ChatMessage[],
  plan: StructuredOutputPlan,
): { messages: ChatMessage[]; responseFormat?: ResponseFormat } {
  const { responseFormat } = plan;
  if (responseFormat?.type === 'json_schema') return { messages, responseFormat };
  return {
    messages: withJsonInstructions(messages, { ...(spec.schema ? { schema: spec.schema } : {}), ...(spec.example !== undefined ? { example: spec.example } : {}) }),
    ...(responseFormat ? { responseFormat } : {}),
  };
}

/** Parses an answer as JSON (tolerating a code fence) and validates it against the step's schema. */
export function parseJsonOutput(content: string, spec: StepOutputSpec): ParsedOutput {
  const text = content.trim().replace(/^```(?:json)?\s*\n?([\s\S]*?)\n?```$/i, '$1');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `the answer is not JSON: ${(err as Error).message}` };
  }
  if (!spec.schema) return { ok: true, value };
  let schema: z.ZodType;
  try {
    schema = z.fromJSONSchema(spec.schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch (err) {
    return { ok: false, message: `the step's schema cannot be used: ${(err as Error).message}` };
  }
  const checked = schema.safeParse(value);
  if (checked.success) return { ok: true, value: checked.data };
  const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return { ok: false, message: `the answer does not match the schema: ${issues}` };
}
