import type { VerifyPolicy } from '@trellis/contracts';
import type { GateResult } from './gates';

/** Absorbs floating-point noise in a mean, so 4 of 5 gates (0.8) meets `accept_at: 0.8`. */
export const SCORE_EPSILON = 1e-9;

/** Whether a candidate meets the policy, and every reason it does not. */
export interface Acceptance {
  accepted: boolean;
  /** Human-readable reasons, in a fixed order: score, categories, critical violations. */
  blockers: string[];
  /** Categories under `categoryMin`, lowest first. */
  weakCategories: Array<{ name: string; score: number }>;
}

/**
 * A candidate is accepted when its combined score reaches `acceptAt`, every category reaches
 * `categoryMin`, and no violation is critical (whatever the score).
 */
export function checkAcceptance(policy: Pick<VerifyPolicy, 'acceptAt' | 'categoryMin'>, result: GateResult): Acceptance {
  const blockers: string[] = [];
  if (result.score + SCORE_EPSILON < policy.acceptAt) blockers.push(`score ${fmt(result.score)} is below ${fmt(policy.acceptAt)}`);
  const weakCategories = Object.entries(result.categories)
    .filter(([, score]) => score + SCORE_EPSILON < policy.categoryMin)
    .map(([name, score]) => ({ name, score }))
    .sort((a, b) => a.score - b.score || a.name.localeCompare(b.name));
  if (weakCategories.length > 0) {
    blockers.push(`${weakCategories.map((c) => `${c.name} ${fmt(c.score)}`).join(', ')} below the category minimum ${fmt(policy.categoryMin)}`);
  }
  const critical = result.violations.filter((v) => v.severity === 'critical');
  if (critical.length > 0) blockers.push(`critical violation${critical.length > 1 ? 's' : ''}: ${critical.map((v) => `${v.rule}: ${v.message}`).join('; ')}`);
  return { accepted: blockers.length === 0, blockers, weakCategories };
}

/** Two decimals, as scores are shown everywhere. */
export function fmt(n: number): string {
  return n.toFixed(2);
}
