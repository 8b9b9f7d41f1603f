import type { GateResult } from './gates';

/** Absorbs floating-point noise in a mean, so 4 of 5 gates (0.8) meets `accept_at: 0.8`. */
const EPSILON = 1e-9;

/** Accept iff the score reaches `acceptAt` and no violation is critical. */
export function decideVerdict(result: Pick<GateResult, 'score' | 'violations'>, acceptAt: number): 'accept' | 'reject' {
  const critical = result.violations.some((v) => v.severity === 'critical');
  return !critical && result.score + EPSILON >= acceptAt ? 'accept' : 'reject';
}
