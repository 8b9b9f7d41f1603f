import type { ChatMessage, TemplateBody } from '@trellis/contracts';
import { renderPrompt } from './render-prompt';

/**
 * Renders a registry template's body with `inputs` as its variables (`{{ inputs.<name> }}`),
 * through the same strict Liquid as prompts: a missing variable is a `RenderError` naming it.
 * A plain-text body is one user message.
 */
export function renderMessages(body: TemplateBody, inputs: Record<string, unknown>): ChatMessage[] {
  const scope = { inputs, steps: {} };
  const messages = typeof body === 'string' ? [{ role: 'user' as const, content: body }] : body;
  return messages.map((m) => ({ role: m.role, content: renderPrompt(m.content, scope) }));
}

/** A text body rendered with `inputs`; a chat body's messages joined by blank lines (the caller checked it is text). */
export function renderText(body: TemplateBody, inputs: Record<string, unknown>): string {
  return renderMessages(body, inputs)
    .map((m) => m.content)
    .join('\n\n');
}
