import { createHash } from 'node:crypto';
import type { ChatCompletionRequest, SimulatedMessage } from './chat-request';
import { stripDirectives } from './directives';
import { jsonInstanceFor } from './json-instance';

const SNIPPET_CHARS = 160;

/** Rough token estimate (~4 characters a token), enough for usage accounting in tests. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** 8 hex chars of the sha256 of the whole conversation: same messages, same digest. */
export function conversationDigest(messages: readonly SimulatedMessage[]): string {
  const canonical = JSON.stringify(messages.map((m) => [m.role, m.content]));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 8);
}

/** The plain-text answer: names the model, quotes the last user message, ends with the digest. */
export function simulatedReply(model: string, messages: readonly SimulatedMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user') ?? messages[messages.length - 1];
  const text = stripDirectives(last?.content ?? '').replace(/\s+/g, ' ').trim();
  const snippet = text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS)}…` : text;
  return `Simulated reply from ${model} to: "${snippet}" [${conversationDigest(messages)}]`;
}

export interface Answer {
  content: string;
  finishReason: 'stop' | 'length';
  promptTokens: number;
  completionTokens: number;
}

/**
 * What the simulator answers a valid request: the exact content a directive asked for, else a
 * JSON instance of the requested schema, else a small JSON object for `json_object`, else the
 * text reply. A token limit below the answer's estimate truncates it with `finish_reason:
 * "length"`, as a real model would (JSON included: callers must handle a cut-off answer).
 */
export function answer(
  request: ChatCompletionRequest,
  messages: readonly SimulatedMessage[],
  exactContent: string | undefined,
): Answer {
  const format = request.response_format;
  let content: string;
  if (exactContent !== undefined) content = exactContent;
  else if (format?.type === 'json_schema') content = JSON.stringify(jsonInstanceFor(format.json_schema.schema ?? {}));
  else if (format?.type === 'json_object') {
    content = JSON.stringify({ simulated: true, model: request.model, digest: conversationDigest(messages) });
  } else content = simulatedReply(request.model, messages);

  let finishReason: Answer['finishReason'] = 'stop';
  const limit = request.max_completion_tokens ?? request.max_tokens;
  if (limit != null && estimateTokens(content) > limit) {
    content = content.slice(0, limit * 4);
    finishReason = 'length';
  }
  return {
    content,
    finishReason,
    promptTokens: estimateTokens(messages.map((m) => m.content).join('')),
    completionTokens: estimateTokens(content),
  };
}

/** Splits content into several stream deltas (at least two when there is more than one char). */
export function chunkContent(content: string, size = 24): string[] {
  if (content.length <= 1) return [content];
  const chunkSize = Math.max(1, Math.min(size, Math.ceil(content.length / 2)));
  const chunks: string[] = [];
  // Split by code points so a surrogate pair is never cut in half.
  const chars = Array.from(content);
  for (let i = 0; i < chars.length; i += chunkSize) chunks.push(chars.slice(i, i + chunkSize).join(''));
  return chunks;
}
