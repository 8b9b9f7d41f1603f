import { z } from 'zod';
import type { ChatCompletionMessage } from '@trellis/contracts';
import { GatewayError } from '../http/gateway.errors';

/** The parts of a stored spec the mapping reads (the planner stores it with defaults applied). */
const SpecInputs = z.looseObject({
  inputs: z
    .record(z.string(), z.looseObject({ type: z.string().default('string'), required: z.boolean().default(false), default: z.unknown().optional() }))
    .default({}),
  steps: z.record(z.string(), z.unknown()).default({}),
});

/** Names that receive the last user message, in order of preference (docs/openai-compatible.md). */
const MESSAGE_INPUTS = ['message', 'prompt', 'input', 'query', 'question'];

export function messageText(m: ChatCompletionMessage): string {
  if (typeof m.content === 'string') return m.content;
  return (m.content ?? []).map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');
}

/**
 * A conversation as a pipeline's inputs:
 * - the last user message goes to the first declared input named message, prompt, input,
 *   query or question; else to the first required string input; else the first string input;
 * - `messages`, when declared, gets the whole conversation (an array of `{role, content}`, or
 *   a `role: content` transcript when the input is a string);
 * - `system`, when declared, gets the system (and developer) messages joined.
 */
export function conversationInputs(spec: unknown, messages: ChatCompletionMessage[]): Record<string, unknown> {
  const inputs = SpecInputs.parse(spec ?? {}).inputs;
  const names = Object.keys(inputs);
  const out: Record<string, unknown> = {};
  const conversation = messages.map((m) => ({ role: m.role, content: messageText(m) }));

  if (inputs.messages) {
    out.messages = inputs.messages.type === 'string' ? conversation.map((m) => `${m.role}: ${m.content}`).join('\n') : conversation;
  }
  const system = conversation.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.content);
  if (inputs.system && system.length) out.system = system.join('\n\n');

  const lastUser = [...conversation].reverse().find((m) => m.role === 'user');
  const isString = (n: string) => inputs[n]!.type === 'string' && n !== 'messages' && n !== 'system';
  const target =
    MESSAGE_INPUTS.find((n) => inputs[n] && isString(n)) ??
    names.find((n) => isString(n) && inputs[n]!.required) ??
    names.find((n) => isString(n));
  if (target) {
    if (!lastUser) throw new GatewayError('invalid_argument', 'the conversation has no user message', [{ path: ['messages'], message: 'add a message with role "user"' }]);
    out[target] = lastUser.content;
  } else if (!inputs.messages) {
    throw new GatewayError('invalid_argument', 'this pipeline declares no string input (nor "messages") to receive the conversation', [
      { path: ['model'], message: 'declare an input named "message", "prompt" or "messages"' },
    ]);
  }
  return out;
}

/** The step whose output answers the chat: the step named `answer`, else the last in topological order. */
export function answerStep(spec: unknown, order: string[]): string {
  const steps = SpecInputs.parse(spec ?? {}).steps;
  return 'answer' in steps ? 'answer' : order.at(-1)!;
}
