import type { VariantComparison, VariantResults, VariantView } from '@trellis/contracts';
import type { WeightedVariant } from './assignment';
import { twoProportionPValue, welchPValue } from './statistics';

/** What the database sums up per variant: run outcomes and the latest verdict of each step. */
export interface VariantAggregate {
  runs: number;
  runsCompleted: number;
  runsSucceeded: number;
  meanInputTokens: number | null;
  meanOutputTokens: number | null;
  meanCost: number | null;
  meanLatencyMs: number | null;
  stepsVerified: number;
  stepsAccepted: number;
  meanScore: number | null;
  scoreStdDev: number | null;
  meanIterations: number | null;
}

export const EMPTY_AGGREGATE: VariantAggregate = {
  runs: 0,
  runsCompleted: 0,
  runsSucceeded: 0,
  meanInputTokens: null,
  meanOutputTokens: null,
  meanCost: null,
  meanLatencyMs: null,
  stepsVerified: 0,
  stepsAccepted: 0,
  meanScore: null,
  scoreStdDev: null,
  meanIterations: null,
};

/** Below this p-value a difference counts as significant. */
export const SIGNIFICANCE = 0.05;

export function variantResults(variants: readonly WeightedVariant[], aggregates: ReadonlyMap<string, VariantAggregate>): VariantResults[] {
  return variants.map((v) => {
    const a = aggregates.get(v.name) ?? EMPTY_AGGREGATE;
    return { ...toVariantView(v), ...a, acceptanceRate: a.stepsVerified ? a.stepsAccepted / a.stepsVerified : null };
  });
}

/** Every variant against the control (the first one). */
export function comparisons(results: readonly VariantResults[]): VariantComparison[] {
  const [control, ...rest] = results;
  if (!control) return [];
  return rest.map((v) => {
    const c = compare(v, control);
    return { variant: v.name, control: control.name, ...c };
  });
}

/**
 * The variant that beats every other one: significantly higher acceptance, or, where
 * acceptance does not differ significantly, a significantly higher mean score. Null when no
 * variant does (too little data, or no real difference).
 */
export function winner(results: readonly VariantResults[]): string | null {
  const beats = (a: VariantResults, b: VariantResults) => {
    const c = compare(a, b);
    if (c.acceptancePValue !== null && c.acceptancePValue < SIGNIFICANCE) return (c.acceptanceDiff ?? 0) > 0;
    return c.scorePValue !== null && c.scorePValue < SIGNIFICANCE && (c.scoreDiff ?? 0) > 0;
  };
  return results.find((a) => results.every((b) => a === b || beats(a, b)))?.name ?? null;
}

function compare(a: VariantResults, b: VariantResults): Omit<VariantComparison, 'variant' | 'control'> {
  const sample = (r: VariantResults) => ({ n: r.stepsVerified, mean: r.meanScore ?? 0, sd: r.scoreStdDev ?? 0 });
  return {
    acceptanceDiff: a.acceptanceRate !== null && b.acceptanceRate !== null ? a.acceptanceRate - b.acceptanceRate : null,
    acceptancePValue: twoProportionPValue(a.stepsAccepted, a.stepsVerified, b.stepsAccepted, b.stepsVerified),
    scoreDiff: a.meanScore !== null && b.meanScore !== null ? a.meanScore - b.meanScore : null,
    scorePValue: welchPValue(sample(a), sample(b)),
  };
}

/** What a variant sets, as stored: its version, selection mode or policy. */
export function toVariantView(v: WeightedVariant): VariantView {
  return {
    name: v.name,
    ...(v.version !== undefined ? { version: v.version } : {}),
    ...(v.selection !== undefined ? { selection: v.selection } : {}),
    ...(v.policy !== undefined ? { policy: v.policy } : {}),
    weight: v.weight,
  };
}
