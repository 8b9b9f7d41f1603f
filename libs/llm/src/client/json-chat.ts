import type { ChatMessage } from '@trellis/contracts';
import type { ChatOptions, ChatRequest, ChatResult, ResponseFormat } from './llm-client';
import { LlmError, rejectsResponseFormat } from './llm.errors';
import type { ProviderRegistry } from './provider-registry';

/** The shape of a JSON answer, for asking for it in the prompt. */
export interface JsonShape {
  schema?: Record<string, unknown>;
  example?: unknown;
}

/**
 * The conversation with the JSON answer's shape asked for in its last message: what a model is
 * given instead of `response_format` when the catalog says it lacks structured outputs or its
 * provider refused them.
 */
export function withJsonInstructions(messages: ChatMessage[], shape: JsonShape): ChatMessage[] {
  const parts = ['Answer with JSON only: no prose, no code fences.'];
  if (shape.schema) parts.push(`The JSON must be valid against this JSON Schema:\n${JSON.stringify(shape.schema)}`);
  if (shape.example !== undefined) parts.push(`For example:\n${JSON.stringify(shape.example)}`);
  const last = messages[messages.length - 1]!;
  return [...messages.slice(0, -1), { ...last, content: `${last.content}\n\n${parts.join('\n')}` }];
}

/** A JSON request, and the same request asking for the shape in the prompt instead of `response_format`. */
export function jsonRequests<R extends ChatRequest & { responseFormat: ResponseFormat }>(request: R, shape: JsonShape): { structured: R; instructed: ChatRequest } {
  const { responseFormat: _asked, ...rest } = request;
  return { structured: request, instructed: { ...rest, messages: withJsonInstructions(request.messages, shape) } };
}

/**
 * One call for a JSON answer (the verifier's judge, the planner's analysis): through the
 * provider's structured-output mode, or — when the provider has refused `response_format` for
 * the model, now or earlier in this process (remembered, as the executor's steps do) — with the
 * shape asked for in the prompt, at once. Resolves with the answer and the request as sent.
 */
export async function chatJson(
  providers: ProviderRegistry,
  request: ChatRequest & { responseFormat: ResponseFormat },
  shape: JsonShape,
  options: ChatOptions = {},
): Promise<{ result: ChatResult; sent: ChatRequest }> {
  const { structured, instructed } = jsonRequests(request, shape);
  const client = providers.clientFor(request.model);
  if (providers.responseFormatRejection(request.model) === undefined) {
    try {
      return { result: await client.chat(structured, options), sent: structured };
    } catch (err) {
      if (!(err instanceof LlmError && rejectsResponseFormat(err))) throw err;
      providers.rememberResponseFormatRejection(request.model, err.message);
    }
  }
  return { result: await client.chat(instructed, options), sent: instructed };
}
