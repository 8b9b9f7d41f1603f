import type { CandidateRef, StopReason, TemplateBody, VerifyPolicy, VerifyRound } from '@trellis/contracts';
import { checkAcceptance, fmt, SCORE_EPSILON } from './acceptance';
import { buildFeedback } from './feedback';
import type { GateResult } from './gates';
import type { ReusePlan } from './reuse';

/** This round's candidate, as the gates scored it. */
export interface RoundInput {
  /** 1 for the first generation. */
  iteration: number;
  attempt: number;
  result: GateResult;
  /** The judges' feedback on this candidate, for the next round's prompt. */
  judgeFeedback?: readonly string[];
  /** This round ran on the escalated model. */
  escalated?: boolean;
}

/** What the loop does after one round, and why. */
export interface LoopDecision {
  verdict: 'accept' | 'retry' | 'escalate' | 'reject';
  /** Why the loop ended; absent on retry, the one verdict that continues it. */
  stop?: StopReason;
  /** One sentence: the stop rule that fired, or what blocks acceptance. */
  reason: string;
  /** What keeps this candidate from acceptance (empty when accepted). */
  blockers: string[];
  /**
   * The candidate to keep: the accepted one, else the best across rounds (no critical
   * violation first, then the highest score, then the earliest).
   */
  best: CandidateRef;
  /** The next round revises `best`, an earlier candidate, because this one did not improve on it. */
  reviseBest: boolean;
  /** retry / escalate: what the next round must fix. */
  feedback?: string;
  /** escalate: the model of the extra round. */
  escalateTo?: string;
  /** retry / escalate with `iterate.reuse`: the fields the next round keeps (see `planReuse`). */
  reusedFields?: string[];
}

/** How the next round is asked: the run's feedback template (default the built-in), and what it keeps of this candidate. */
export interface NextRoundPrompt {
  feedbackTemplate?: TemplateBody | undefined;
  reuse?: ReusePlan | undefined;
}

/**
 * The iteration loop's stop rules (generate → verify → feedback → repeat), applied to one
 * round given the rounds before it. In order:
 * 1. accepted (score ≥ acceptAt, every category ≥ categoryMin, no critical violation) → accept;
 * 2. the escalation round was not accepted → reject (`escalation_failed`): escalation runs once;
 * 3. this was round `maxIterations` → the loop ends (`max_iterations`);
 * 4. the score rose by less than `improvementThreshold` over the previous round → the loop
 *    ends early (`stagnated`);
 * 5. otherwise → retry, with feedback built from this round.
 * A loop that ends unaccepted escalates when the policy allows it, escalation has not run,
 * and a stronger model exists (`escalateTo`); otherwise the step is rejected.
 */
export function decideRound(policy: VerifyPolicy, history: readonly VerifyRound[], round: RoundInput, escalateTo?: string, next: NextRoundPrompt = {}): LoopDecision {
  const acceptance = checkAcceptance(policy, round.result);
  const current: VerifyRound = {
    iteration: round.iteration,
    attempt: round.attempt,
    score: round.result.score,
    critical: round.result.violations.some((v) => v.severity === 'critical'),
  };
  // A redelivered job may list rounds that are not earlier than this one: they cannot count.
  const earlier = history.filter((h) => h.iteration < round.iteration).sort((a, b) => a.iteration - b.iteration);
  if (acceptance.accepted) {
    return {
      verdict: 'accept',
      stop: 'accepted',
      reason: `accepted in round ${round.iteration} with score ${fmt(round.result.score)}`,
      blockers: [],
      best: refOf(current),
      reviseBest: false,
    };
  }

  const best = bestOf([...earlier, current]);
  const base = { blockers: acceptance.blockers, best: refOf(best), reviseBest: best.attempt !== round.attempt };
  const blocked = acceptance.blockers.join('; ');
  if (round.escalated || earlier.some((h) => h.escalated)) {
    return { ...base, verdict: 'reject', stop: 'escalation_failed', reason: `the escalation round was not accepted either: ${blocked}` };
  }

  const previous = earlier.at(-1);
  let stop: StopReason | undefined;
  let why = '';
  if (round.iteration >= policy.maxIterations) {
    stop = 'max_iterations';
    why = `${round.iteration} of ${policy.maxIterations} rounds used without acceptance`;
  } else if (previous && round.result.score - previous.score + SCORE_EPSILON < policy.improvementThreshold) {
    stop = 'stagnated';
    why = `round ${round.iteration} improved the score by ${fmt(round.result.score - previous.score)} over round ${previous.iteration}, less than ${fmt(policy.improvementThreshold)}`;
  }

  const willEscalate = stop !== undefined && policy.escalate && escalateTo !== undefined;
  const reuse = stop === undefined || willEscalate ? next.reuse : undefined;
  const feedback = buildFeedback(
    {
      iteration: round.iteration,
      result: round.result,
      acceptance,
      acceptAt: policy.acceptAt,
      categoryMin: policy.categoryMin,
      judgeFeedback: round.judgeFeedback ?? [],
      reuse,
    },
    next.feedbackTemplate,
  );
  const kept = reuse ? { reusedFields: reuse.kept } : {};
  if (stop === undefined) return { ...base, verdict: 'retry', reason: `round ${round.iteration} not accepted: ${blocked}`, feedback, ...kept };
  if (willEscalate) {
    return { ...base, verdict: 'escalate', stop, reason: `${why}; escalating to ${escalateTo}`, feedback, escalateTo: escalateTo!, ...kept };
  }
  const noModel = policy.escalate ? '; no stronger model to escalate to' : '';
  return { ...base, verdict: 'reject', stop, reason: `${why}${noModel}: ${blocked}` };
}

/** No critical violation beats any critical one; then the higher score; then the earlier round. */
export function bestOf(rounds: readonly VerifyRound[]): VerifyRound {
  const ranked = [...rounds].sort((a, b) => Number(a.critical ?? false) - Number(b.critical ?? false) || b.score - a.score || a.iteration - b.iteration);
  const first = ranked[0];
  if (!first) throw new Error('bestOf: no rounds');
  return first;
}

function refOf(round: VerifyRound): CandidateRef {
  return { iteration: round.iteration, attempt: round.attempt, score: round.score };
}
