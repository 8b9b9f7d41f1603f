import { Liquid, Tag, type TagToken, type Template, type TopLevelToken } from 'liquidjs';
import { toRenderError } from './render-error';

/**
 * The one Liquid engine for prompts. Strict, so a typo fails loudly instead of sending the
 * model an empty hole; own properties only, so `inputs.constructor` and friends are
 * undefined; no template loading at all (see `RefusedTag`).
 */
const liquid = new Liquid({
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  // `{% if inputs.notes %}` and `{{ inputs.notes | default: "none" }}` are how a prompt
  // handles an optional value; strictness stays everywhere else.
  lenientIf: true,
  // An in-memory, empty template map: even if a tag slipped through, lookups never reach the disk.
  templates: {},
  relativeReference: false,
  outputEscape: toText,
  // Denial-of-service guards: a spec is user input and a prompt renders unattended.
  parseLimit: 1_000_000,
  renderLimit: 2_000,
  memoryLimit: 50_000_000,
});

/**
 * `include`, `render` and `layout` would load other templates; a prompt is self-contained
 * (registry templates are resolved before rendering), so these tags fail at parse time and
 * the compiler reports them with the rest.
 */
class RefusedTag extends Tag {
  constructor(token: TagToken, remainTokens: TopLevelToken[], engine: Liquid) {
    super(token, remainTokens, engine);
    throw new Error(`{% ${token.name} %} is not available: a prompt cannot load other templates or files`);
  }
  render(): void {}
}
for (const name of ['include', 'render', 'layout']) liquid.registerTag(name, RefusedTag);

liquid.registerFilter('json', (value: unknown, indent?: unknown) =>
  JSON.stringify(value ?? null, null, typeof indent === 'number' ? indent : undefined),
);
// `raw` would otherwise bypass `toText` and print objects as "[object Object]".
liquid.registerFilter('raw', { raw: true, handler: toText });

/** Objects and arrays go into a prompt as JSON, which a model reads far better than Liquid's defaults. */
function toText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const CACHE_SIZE = 1_000;
const cache = new Map<string, Template[]>();

/** Parses once per distinct template; a prompt renders for every run of its pipeline. */
export function parseTemplate(template: string): Template[] {
  const hit = cache.get(template);
  if (hit) {
    // Re-insert so the Map's insertion order approximates least-recently-used.
    cache.delete(template);
    cache.set(template, hit);
    return hit;
  }
  let parsed: Template[];
  try {
    parsed = liquid.parse(template);
  } catch (error) {
    throw toRenderError(error);
  }
  cache.set(template, parsed);
  if (cache.size > CACHE_SIZE) {
    const oldest = cache.keys().next();
    if (!oldest.done) cache.delete(oldest.value);
  }
  return parsed;
}

export { liquid };
