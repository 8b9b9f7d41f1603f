import { renderPrompt, type PromptScope } from '@trellis/engine';

/**
 * Renders the string leaves of a `with:` value as Liquid templates against `scope`, walking
 * objects and arrays; other values pass through unchanged. Throws the engine's RenderError.
 */
export function renderLeaves(value: unknown, scope: PromptScope): unknown {
  if (typeof value === 'string') return renderPrompt(value, scope);
  if (Array.isArray(value)) return value.map((v) => renderLeaves(v, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderLeaves(v, scope)]));
  return value;
}
