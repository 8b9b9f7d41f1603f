import { createHash } from 'node:crypto';

export interface WeightedVariant {
  name: string;
  version: number;
  weight: number;
}

/**
 * The variant a subject gets: SHA-256 of (experiment id, subject) read as a number in [0, 1)
 * and placed on the cumulative weights. The same subject always lands in the same variant
 * of an experiment, with no state to look up, and each experiment shuffles subjects anew.
 */
export function assignVariant<V extends WeightedVariant>(experimentId: string, subject: string, variants: readonly V[]): V {
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
