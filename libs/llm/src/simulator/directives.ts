import { z } from 'zod';

/**
 * One `[[sim key=value ...]]` block found in a message, parsed and validated. Tests put these
 * in prompts to make the simulator fail, slow down or answer exactly what they need.
 */
export interface SimDirective {
  /** The block exactly as written; `times` counts requests per distinct text. */
  text: string;
  /** Answer with this HTTP status (400–599) instead of a completion. */
  status?: number;
  /** `Retry-After` header value, in seconds. */
  retryAfter?: number;
  /** `retry-after-ms` header value, in milliseconds. */
  retryAfterMs?: number;
  /** Fail (status or drop) only the first n requests that carry this block; default: always. */
  times?: number;
  /** Latency for this request, overriding the configured one. */
  latencyMs?: number;
  /** Exact content of the answer. */
  reply?: string;
  /** Exact JSON content of the answer (validated as JSON when parsed). */
  json?: string;
  /** Destroy the socket without answering: the client sees a connection reset. */
  drop?: boolean;
}

/** A malformed or unknown directive; the simulator answers 400 so a typo in a test is loud. */
export class DirectiveSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DirectiveSyntaxError';
  }
}

const OPEN = '[[sim';
const CLOSE = ']]';

const whole = z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number);
const decimal = z.string().regex(/^\d+(\.\d+)?$/, 'expected a non-negative number').transform(Number);

const DirectiveFields = z
  .strictObject({
    status: whole.pipe(z.number().min(400).max(599)).optional(),
    retry_after: decimal.optional(),
    retry_after_ms: decimal.optional(),
    times: whole.pipe(z.number().min(1)).optional(),
    latency_ms: whole.pipe(z.number().max(600_000)).optional(),
    reply: z.string().optional(),
    json: z
      .string()
      .refine((text) => isJson(text), 'expected valid JSON')
      .optional(),
    drop: z.enum(['1', 'true']).optional(),
  })
  .refine((d) => d.reply === undefined || d.json === undefined, 'use either reply or json, not both');

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

interface Span {
  start: number;
  end: number;
  pairs: Array<[string, string]>;
}

/** Finds every directive block in `text`, in order of appearance. */
export function parseDirectives(text: string): SimDirective[] {
  return scan(text).map((span) => toDirective(text.slice(span.start, span.end), span.pairs));
}

/** `text` without its directive blocks, so the simulated reply quotes what a human wrote. */
export function stripDirectives(text: string): string {
  let out = '';
  let at = 0;
  for (const span of scan(text)) {
    out += text.slice(at, span.start);
    at = span.end;
  }
  return out + text.slice(at);
}

function toDirective(raw: string, pairs: Array<[string, string]>): SimDirective {
  const fields: Record<string, string> = {};
  for (const [key, value] of pairs) {
    if (key in fields) throw new DirectiveSyntaxError(`duplicate key "${key}" in ${raw}`);
    fields[key] = value;
  }
  const parsed = DirectiveFields.safeParse(fields);
  if (!parsed.success) {
    const why = parsed.error.issues
      .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
      .join('; ');
    throw new DirectiveSyntaxError(`invalid directive ${raw}: ${why}`);
  }
  const d = parsed.data;
  const directive: SimDirective = { text: raw };
  if (d.status !== undefined) directive.status = d.status;
  if (d.retry_after !== undefined) directive.retryAfter = d.retry_after;
  if (d.retry_after_ms !== undefined) directive.retryAfterMs = d.retry_after_ms;
  if (d.times !== undefined) directive.times = d.times;
  if (d.latency_ms !== undefined) directive.latencyMs = d.latency_ms;
  if (d.reply !== undefined) directive.reply = d.reply;
  if (d.json !== undefined) directive.json = d.json;
  if (d.drop !== undefined) directive.drop = true;
  return directive;
}

// A hand-written scanner rather than a regex: quoted values may contain `]]`, spaces and
// escaped quotes, and a precise error position beats a silently ignored directive.
function scan(text: string): Span[] {
  const spans: Span[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf(OPEN, from);
    if (start < 0) return spans;
    const after = text[start + OPEN.length];
    // `[[simulate` is prose, not a directive.
    if (after !== undefined && after !== ']' && !/\s/.test(after)) {
      from = start + OPEN.length;
      continue;
    }
    const span = readBlock(text, start);
    spans.push(span);
    from = span.end;
  }
}

function readBlock(text: string, start: number): Span {
  const pairs: Array<[string, string]> = [];
  let i = start + OPEN.length;
  const fail = (why: string): never => {
    throw new DirectiveSyntaxError(`${why} at offset ${i} in directive starting "${text.slice(start, start + 60)}"`);
  };
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) fail('unterminated directive (missing "]]")');
    if (text.startsWith(CLOSE, i)) return { start, end: i + CLOSE.length, pairs };
    const key = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
    if (!key) fail('expected key=value');
    i += key!.length;
    if (text[i] !== '=') fail(`expected "=" after "${key}"`);
    i++;
    const quote = text[i];
    let value = '';
    if (quote === '"' || quote === "'") {
      i++;
      for (;;) {
        const c = text[i];
        if (c === undefined) fail('unterminated quoted value');
        if (c === quote) break;
        if (c === '\\') {
          const next = text[i + 1];
          if (next === undefined) fail('unterminated escape');
          value += next === 'n' ? '\n' : next === 't' ? '\t' : next;
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i]!) && !text.startsWith(CLOSE, i)) value += text[i++];
      if (!value) fail(`empty value for "${key}"`);
    }
    pairs.push([key!, value]);
  }
}

/** What the directives of one request ask for, once `times` counters are taken into account. */
export interface DirectivePlan {
  /** The failure to simulate, when a status or drop directive is still active. */
  failure?: { status?: number; drop: boolean; retryAfter?: number; retryAfterMs?: number; directive: SimDirective };
  latencyMs?: number;
  /** Exact content, from the last `reply` or `json` directive. */
  content?: string;
}

/**
 * Counts, per directive text, the requests that carried it, and decides what each request
 * gets. The first failure directive whose `times` is not used up wins; for latency and
 * content, the last directive that sets them wins (later messages refine earlier ones).
 */
export class DirectivePlanner {
  private readonly seen = new Map<string, number>();

  plan(directives: readonly SimDirective[]): DirectivePlan {
    const failing = directives.filter((d) => d.status !== undefined || d.drop);
    // A conversation may repeat a prompt (a retry with feedback): one request counts once.
    for (const text of new Set(failing.map((d) => d.text))) this.seen.set(text, (this.seen.get(text) ?? 0) + 1);

    const plan: DirectivePlan = {};
    const active = failing.find((d) => d.times === undefined || (this.seen.get(d.text) ?? 0) <= d.times);
    if (active) {
      plan.failure = { drop: active.drop === true, directive: active };
      if (active.status !== undefined) plan.failure.status = active.status;
      if (active.retryAfter !== undefined) plan.failure.retryAfter = active.retryAfter;
      if (active.retryAfterMs !== undefined) plan.failure.retryAfterMs = active.retryAfterMs;
    }
    for (const d of directives) {
      if (d.latencyMs !== undefined) plan.latencyMs = d.latencyMs;
      if (d.reply !== undefined) plan.content = d.reply;
      if (d.json !== undefined) plan.content = d.json;
    }
    return plan;
  }

  reset(): void {
    this.seen.clear();
  }
}
