import type { ChatMessage, StepOutputSpec } from '@trellis/contracts';
import type { JsonSchemaResponseFormat } from '@trellis/llm';
import { z } from 'zod';

/** The answer of a JSON step, parsed; or why it is not acceptable (retryable: the model may do better). */
export type ParsedOutput = { ok: true; value: unknown } | { ok: false; message: string };

/**
 * How a JSON step asks for its shape: as a JSON-schema `response_format` where the model
 * supports structured outputs, otherwise as instructions appended to the last message.
 */
export function jsonRequest(
  spec: StepOutputSpec,
  stepId: string,
  messages: ChatMessage[],
  supportsStructuredOutputs: boolean,
): { messages: ChatMessage[]; responseFormat?: JsonSchemaResponseFormat } {
  if (spec.schema && supportsStructuredOutputs) {
    return { messages, responseFormat: { type: 'json_schema', name: stepId.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64), schema: spec.schema } };
  }
  const parts = ['Answer with JSON only: no prose, no code fences.'];
  if (spec.schema) parts.push(`The JSON must be valid against this JSON Schema:\n${JSON.stringify(spec.schema)}`);
  if (spec.example !== undefined) parts.push(`For example:\n${JSON.stringify(spec.example)}`);
  const last = messages[messages.length - 1]!;
  return { messages: [...messages.slice(0, -1), { ...last, content: `${last.content}\n\n${parts.join('\n')}` }] };
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
