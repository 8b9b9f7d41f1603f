import type { StructuredOutputRequest } from '@trellis/contracts';
import type { ResponseFormat } from '../client/llm-client';

/** What {@link planStructuredOutput} decides from. */
export interface StructuredOutputInput {
  /** The JSON Schema the answer must meet, if there is one. */
  schema?: Record<string, unknown>;
  /** An example answer, if there is one. */
  example?: unknown;
  /** Names the `response_format` (a step id); made safe for OpenAI's rule by {@link responseFormatName}. */
  name: string;
  /** The model catalog lists the model without `structured_outputs` ({@link ModelCatalog.lacks}). */
  catalogLacks: boolean;
  /**
   * The provider refused `response_format` for this model: its words, and whether on this very
   * call (`now`) or on an earlier one that was remembered.
   */
  rejection?: { message: string; now: boolean };
}

/** How to ask for a JSON answer. */
export interface StructuredOutputPlan {
  /** What the step's record says about it (`StepGenerated.structuredOutput`). */
  request: StructuredOutputRequest;
  /** Sent as `response_format` when `request.mode` is `response_format`; otherwise the prompt carries the shape. */
  responseFormat?: ResponseFormat;
}

/**
 * Decides how a JSON answer is asked for. The provider's structured-output mode by default,
 * since OpenAI, Azure, vLLM, Ollama, llama.cpp and LiteLLM all take it: `json_schema` with the
 * schema (strict only when the schema meets OpenAI's strict rules, see {@link isStrictSchema}),
 * or `json_object` without a schema. Instructions in the prompt instead when the catalog says
 * the model lacks structured outputs (a model without an entry is assumed to have them), when
 * the provider has refused `response_format` for the model, or when a step without a schema
 * shows an example that is not an object: JSON mode only ever answers an object, and would
 * bend an answer meant to be a list.
 *
 * It lives beside the catalog rather than in `libs/engine`: it decides the wire format of one
 * model call (which the executor, the verifier's judge or the planner's orchestrator may
 * make), not the course of a run, and it speaks the client's `ResponseFormat`.
 */
export function planStructuredOutput(input: StructuredOutputInput): StructuredOutputPlan {
  if (input.catalogLacks) return { request: { mode: 'instructions', reason: 'catalog' } };
  if (input.rejection) {
    return { request: { mode: 'instructions', reason: input.rejection.now ? 'rejected' : 'remembered', message: input.rejection.message } };
  }
  if (input.schema) {
    const strict = isStrictSchema(input.schema);
    return {
      request: { mode: 'response_format', type: 'json_schema', strict },
      responseFormat: { type: 'json_schema', name: responseFormatName(input.name), schema: input.schema, ...(strict ? { strict } : {}) },
    };
  }
  if (input.example !== undefined && !isRecord(input.example)) return { request: { mode: 'instructions', reason: 'not_an_object' } };
  return { request: { mode: 'response_format', type: 'json_object' }, responseFormat: { type: 'json_object' } };
}

/** A `response_format` name: a-z, A-Z, 0-9, `_` and `-`, at most 64 characters (OpenAI's rule). */
export function responseFormatName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64) || 'output';
}

// The keywords OpenAI's strict mode has always taken (models and fine-tunes alike). Newer
// models also take string, number and array bounds; a schema using them is sent without
// `strict` rather than risking a 400 that would switch the model to instructions.
const STRICT_KEYWORDS = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'definitions', 'description', 'title']);
const STRICT_MAX_DEPTH = 10;

/**
 * Whether a schema can be sent with `strict: true` as it is. OpenAI's strict mode refuses
 * (400) a schema whose root is not an object, any object that allows other properties or has
 * an optional one, a keyword outside its subset, a remote `$ref`, or nesting deeper than 10
 * levels. A user's schema seldom meets all of that (optional fields are the norm), and
 * rewriting it would change what it accepts, so it goes without `strict` then: the provider
 * still follows it, and the executor validates the answer either way.
 */
export function isStrictSchema(schema: Record<string, unknown>): boolean {
  if (schema.type !== 'object' || 'anyOf' in schema) return false;
  return strictNode(schema, 0);
}

function strictNode(node: unknown, depth: number): boolean {
  if (!isRecord(node) || depth > STRICT_MAX_DEPTH) return false;
  if (Object.keys(node).some((key) => !STRICT_KEYWORDS.has(key))) return false;
  if ('$ref' in node) return typeof node.$ref === 'string' && node.$ref.startsWith('#');
  for (const defs of [node.$defs, node.definitions]) {
    if (defs !== undefined && !(isRecord(defs) && Object.values(defs).every((d) => strictNode(d, depth + 1)))) return false;
  }
  if ('anyOf' in node) return Array.isArray(node.anyOf) && node.anyOf.length > 0 && node.anyOf.every((n) => strictNode(n, depth + 1));
  const types = Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type];
  // No type (and no enum or const) is "any value", which strict mode cannot express.
  if (types.length === 0 && !('enum' in node) && !('const' in node)) return false;
  if ('enum' in node && !Array.isArray(node.enum)) return false;
  if (types.includes('object') || 'properties' in node) {
    if (node.additionalProperties !== false) return false;
    const properties = node.properties ?? {};
    const required = node.required ?? [];
    if (!isRecord(properties) || !Array.isArray(required)) return false;
    const keys = Object.keys(properties);
    // Every property required, and nothing required that is not a property.
    if (required.length !== keys.length || !keys.every((k) => required.includes(k))) return false;
    if (!Object.values(properties).every((p) => strictNode(p, depth + 1))) return false;
  }
  if ('items' in node && !strictNode(node.items, depth + 1)) return false;
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
