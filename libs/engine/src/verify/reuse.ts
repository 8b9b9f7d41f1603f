import type { Violation } from '@trellis/contracts';

/**
 * Reuse across the rounds of a verification loop (`verify.iterate.reuse`, US-188): a gated
 * step with a JSON output may name top-level fields — examples, say — that later rounds keep
 * from the candidate they revise instead of writing them again. Round 1 writes everything;
 * a later round is asked for the other fields only (its response schema omits the kept ones),
 * and the step's output is the merge. A kept field is written again when a violation or the
 * judge's feedback of the round before names it.
 */

/** What the next round keeps and what it writes, in the output schema's order. */
export interface ReusePlan {
  kept: string[];
  write: string[];
}

type JsonSchema = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The top-level properties of an object schema, in the order written. */
export function outputFields(schema: JsonSchema | undefined): string[] {
  const properties = schema?.['properties'];
  return isObject(properties) ? Object.keys(properties) : [];
}

/**
 * The fields among `fields` that a text names: the field's name as a whole word (letters,
 * digits and `_` around it do not count), in any case — `examples` in "the examples repeat
 * the task" or in a schema path `/examples/0`, but not in "counterexamples".
 */
export function fieldsNamed(fields: readonly string[], texts: readonly string[]): string[] {
  const haystack = texts.join('\n');
  return fields.filter((field) => new RegExp(`(^|[^A-Za-z0-9_])${escapeRegExp(field)}([^A-Za-z0-9_]|$)`, 'i').test(haystack));
}

/**
 * After a round that is not accepted: the reusable fields the next round keeps (those no
 * violation — rule or message — and no judge feedback names) and the fields it writes.
 * Undefined when there is nothing to keep, or nothing left to write: then the next round
 * writes everything, as without reuse.
 */
export function planReuse(
  reuse: readonly string[] | undefined,
  schema: JsonSchema | undefined,
  violations: readonly Violation[],
  judgeFeedback: readonly string[],
): ReusePlan | undefined {
  const fields = outputFields(schema);
  const candidates = (reuse ?? []).filter((f) => fields.includes(f));
  if (candidates.length === 0) return undefined;
  const named = new Set(fieldsNamed(candidates, [...violations.flatMap((v) => [v.rule, v.message]), ...judgeFeedback]));
  const kept = fields.filter((f) => candidates.includes(f) && !named.has(f));
  const write = fields.filter((f) => !kept.includes(f));
  return kept.length > 0 && write.length > 0 ? { kept, write } : undefined;
}

/** The response schema of a round that keeps `kept`: the same object schema without those properties. */
export function laterRoundSchema(schema: JsonSchema, kept: readonly string[]): JsonSchema {
  const properties = isObject(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : undefined;
  return {
    ...schema,
    properties: Object.fromEntries(Object.entries(properties).filter(([name]) => !kept.includes(name))),
    ...(required ? { required: required.filter((name) => typeof name !== 'string' || !kept.includes(name)) } : {}),
  };
}

/** The kept fields' values in the candidate being revised (own properties only). */
export function keptValues(candidate: unknown, kept: readonly string[]): Record<string, unknown> {
  if (!isObject(candidate)) return {};
  return Object.fromEntries(kept.filter((f) => Object.prototype.hasOwnProperty.call(candidate, f)).map((f) => [f, candidate[f]]));
}

/**
 * A later round's output: its answer with the kept values merged in, fields in the output
 * schema's order (the kept value wins a field the answer also wrote), then any field the
 * schema does not list, as answered.
 */
export function mergeReused(schema: JsonSchema, kept: Record<string, unknown>, answer: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => Object.defineProperty(merged, key, { value, enumerable: true, writable: true, configurable: true });
  for (const field of outputFields(schema)) {
    if (Object.prototype.hasOwnProperty.call(kept, field)) set(field, kept[field]);
    else if (Object.prototype.hasOwnProperty.call(answer, field)) set(field, answer[field]);
  }
  for (const [key, value] of Object.entries(answer)) if (!Object.prototype.hasOwnProperty.call(merged, key)) set(key, value);
  return merged;
}

/**
 * The output tokens a round did not spend on the fields it kept: the round that wrote them
 * spent `writtenTokens` on `writtenOutput`; the kept part's share of that text's length is
 * taken as its share of the tokens.
 */
export function outputTokensSaved(writtenTokens: number, writtenOutput: string, kept: Record<string, unknown>): number {
  if (writtenTokens <= 0 || writtenOutput.length === 0 || Object.keys(kept).length === 0) return 0;
  const share = Math.min(1, JSON.stringify(kept).length / writtenOutput.length);
  return Math.round(writtenTokens * share);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
