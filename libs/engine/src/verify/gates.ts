import type { Gate, GateOutcome, Violation } from '@trellis/contracts';
import { compilePattern, MAX_REGEX_INPUT_CHARS } from './regex-safety';

/** The gates' verdict on one output: a score in [0, 1], per-kind scores and what went wrong. */
export interface GateResult {
  /** Mean of the gate scores (weighted, see `combineGates`); 1 when there are no gates. */
  score: number;
  /** Mean score per gate kind (`json`, `contains`, `not_contains`, `regex`, `length`), and a judge's own categories. */
  categories: Record<string, number>;
  violations: Violation[];
}

type GateKind = 'json' | 'contains' | 'not_contains' | 'regex' | 'length';
interface GateScore {
  kind: GateKind;
  score: number;
  violation?: Violation;
}

/** Gates that need more than the output text: a validator (`schema`) or a model (`judge`). The verifier evaluates them. */
export function isDeterministicGate(gate: Gate): boolean {
  return gate !== 'schema' && !(typeof gate === 'object' && 'judge' in gate);
}

type DeterministicGate = Exclude<Gate, 'schema' | { judge: unknown }>;

/** One deterministic gate's outcome, in the event's terms; undefined for `schema` and `judge`. */
export function evaluateDeterministicGate(output: string, gate: Gate): GateOutcome | undefined {
  if (!isDeterministicGate(gate)) return undefined;
  const { kind, score, violation } = evaluateGate(output, gate as DeterministicGate);
  return { gate: kind, score, weight: 1, categories: { [kind]: score }, violations: violation ? [violation] : [] };
}

/**
 * Combines gate outcomes into the step's result: the score is the weighted mean of the gate
 * scores (1 with no gates); categories are the per-kind means and each judge's categories
 * (a name found twice keeps its lowest score: a category passes only if it passes
 * everywhere); violations are all of them, in gate order.
 */
export function combineGates(outcomes: readonly GateOutcome[]): GateResult {
  const totalWeight = outcomes.reduce((sum, o) => sum + o.weight, 0);
  const score = totalWeight === 0 ? 1 : clamp01(outcomes.reduce((sum, o) => sum + o.score * o.weight, 0) / totalWeight);
  const byKind = new Map<string, number[]>();
  const named = new Map<string, number>();
  for (const o of outcomes) {
    if (o.gate === 'judge') {
      for (const [name, value] of Object.entries(o.categories)) named.set(name, Math.min(named.get(name) ?? 1, value));
    } else byKind.set(o.gate, [...(byKind.get(o.gate) ?? []), o.score]);
  }
  const categories: Record<string, number> = {};
  for (const [kind, values] of byKind) categories[kind] = mean(values);
  for (const [name, value] of named) categories[name] = Math.min(categories[name] ?? 1, value);
  return { score, categories, violations: outcomes.flatMap((o) => o.violations) };
}

function clamp01(n: number): number {
  return Math.min(1, Math.max(0, n));
}

function evaluateGate(output: string, gate: DeterministicGate): GateScore {
  if (gate === 'json') {
    try {
      JSON.parse(output);
      return { kind: 'json', score: 1 };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return fail('json', 'major', `output is not valid JSON: ${reason}`);
    }
  }
  if ('contains' in gate) {
    return output.includes(gate.contains)
      ? { kind: 'contains', score: 1 }
      : fail('contains', 'major', `output does not contain ${JSON.stringify(gate.contains)}`);
  }
  if ('not_contains' in gate) {
    return output.includes(gate.not_contains)
      ? fail('not_contains', 'critical', `output contains ${JSON.stringify(gate.not_contains)}`)
      : { kind: 'not_contains', score: 1 };
  }
  if ('regex' in gate) {
    const pattern = compilePattern(gate.regex);
    if (!pattern.ok) return fail('regex', 'critical', pattern.reason);
    return pattern.regex.test(output.slice(0, MAX_REGEX_INPUT_CHARS))
      ? { kind: 'regex', score: 1 }
      : fail('regex', 'major', `output does not match /${gate.regex}/`);
  }
  return scoreLength(output, gate.length);
}

/**
 * Length scores 1 inside [min, max]; outside, the ratio of the limit to the actual size
 * (200 chars against min 400 scores 0.5; 600 against max 300 scores 0.5), so an output just
 * off the bound is close to passing. Below 0.5 the violation is major, else minor. Tokens are
 * estimated as ceil(chars / 4), the usual rule of thumb for English text.
 */
function scoreLength(output: string, limits: { min?: number; max?: number; unit: 'chars' | 'tokens' }): GateScore {
  const chars = countCharacters(output);
  const size = limits.unit === 'tokens' ? Math.ceil(chars / 4) : chars;
  let score = 1;
  let bound = '';
  if (limits.min !== undefined && size < limits.min) {
    score = size / limits.min;
    bound = `at least ${limits.min}`;
  } else if (limits.max !== undefined && size > limits.max) {
    score = limits.max / size;
    bound = `at most ${limits.max}`;
  }
  if (score === 1) return { kind: 'length', score };
  const severity = score < 0.5 ? 'major' : 'minor';
  return { kind: 'length', score, violation: { rule: 'length', severity, message: `output is ${size} ${limits.unit}, expected ${bound}` } };
}

/** Characters as a reader counts them (code points), not UTF-16 units. */
function countCharacters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function fail(kind: GateKind, severity: Violation['severity'], message: string): GateScore {
  return { kind, score: 0, violation: { rule: kind, severity, message } };
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
