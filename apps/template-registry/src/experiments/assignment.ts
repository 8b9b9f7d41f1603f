import { createHash } from 'node:crypto';
import type { ExperimentKind, IteratePolicySpec, Selection, StrategyVariant } from '@trellis/contracts';

/** A variant as stored: its name and weight, and what it sets (a version, a selection mode or a policy, by kind). */
export interface WeightedVariant {
  name: string;
  weight: number;
  version?: number;
  selection?: Selection;
  policy?: IteratePolicySpec;
}

/**
 * The variant a subject gets: SHA-256 of (experiment id, subject) read as a number in [0, 1)
 * and placed on the cumulative weights. The same subject always lands in the same variant
 * of an experiment, with no state to look up, and each experiment shuffles subjects anew.
 */
export function assignVariant<V extends Pick<WeightedVariant, 'name' | 'weight'>>(experimentId: string, subject: string, variants: readonly V[]): V {
  const digest = createHash('sha256').update(`${experimentId}\n${subject}`).digest();
  // 48 bits: exact in a double, far finer than any weight ratio.
  const u = digest.readUIntBE(0, 6) / 2 ** 48;
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  let cumulative = 0;
  for (const variant of variants) {
    cumulative += variant.weight / total;
    if (u < cumulative) return variant;
  }
  return variants[variants.length - 1]!;
}

/** What a strategy experiment's variant changes in a run (and what promoting it makes the default). */
export function strategyOf(kind: Exclude<ExperimentKind, 'template'>, variant: WeightedVariant): StrategyVariant {
  switch (kind) {
    case 'pipeline':
      return { kind, version: variant.version! };
    case 'selection':
      return { kind, selection: variant.selection! };
    case 'policy':
      return { kind, policy: variant.policy! };
  }
}
