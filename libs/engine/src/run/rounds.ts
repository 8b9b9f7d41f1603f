import type { CandidateRef, ChatMessage, StepGenerated, StepVerified, StopReason, TokenUsage, VerifyRound, Violation } from '@trellis/contracts';

/**
 * The bookkeeping of a step's verification loop (generate → verify → feedback → repeat):
 * which round a dispatch starts, what it revises, on which model, and what each result adds
 * to the round's record. The verifier decides each verdict (`decideRound`); this decides
 * what the next round is made of.
 */

/**
 * One round of a step's verification loop as the planner stores it (`step_run.iterations`):
 * the telemetry the run reports, plus the candidate itself, so that the best one can become
 * the step's output and the next round can revise it.
 */
export interface IterationRecord {
  iteration: number;
  attempt: number;
  model: string;
  feedbackUsed: boolean;
  examplesReused: boolean;
  escalated: boolean;
  dispatchedAt: string;
  output?: string;
  structured?: unknown;
  messages?: ChatMessage[];
  usage?: TokenUsage;
  generationMs?: number;
  score?: number;
  critical?: boolean;
  categories?: Record<string, number>;
  violations?: Violation[];
  verdict?: StepVerified['verdict'];
  stop?: StopReason;
  /** For the next round's prompt. */
  feedback?: string;
  escalateTo?: string;
  /** The best candidate so far, as the verifier ranked it. */
  best?: CandidateRef;
  /** The next round revises `best`, not this candidate. */
  reviseBest?: boolean;
  judgeUsage?: TokenUsage;
  verificationMs?: number;
}

/** What a dispatch of a step with gates sends and records. */
export interface Round {
  records: IterationRecord[];
  round: IterationRecord;
  feedback?: string;
  previousOutput?: string;
}

/**
 * The round a dispatch starts. After a `retry` or `escalate` verdict the loop goes on: the
 * next iteration, the verdict's feedback, the best candidate to revise, the escalated model.
 * Otherwise (first dispatch, resume) a new loop starts at round 1.
 */
export function startRound(records: readonly IterationRecord[], attempt: number, model: string, now: Date): Round {
  const last = records.at(-1);
  if (!last || (last.verdict !== 'retry' && last.verdict !== 'escalate')) {
    const round: IterationRecord = { iteration: 1, attempt, model, feedbackUsed: false, examplesReused: false, escalated: false, dispatchedAt: now.toISOString() };
    return { records: [round], round };
  }
  const escalated = last.verdict === 'escalate' && last.escalateTo !== undefined;
  const basis = (last.reviseBest ? records.find((r) => r.attempt === last.best?.attempt) : undefined) ?? last;
  const round: IterationRecord = {
    iteration: last.iteration + 1,
    attempt,
    model: escalated ? last.escalateTo! : model,
    feedbackUsed: last.feedback !== undefined,
    examplesReused: basis !== last,
    escalated,
    dispatchedAt: now.toISOString(),
  };
  return {
    records: [...records, round],
    round,
    ...(last.feedback !== undefined ? { feedback: last.feedback } : {}),
    ...(basis.output !== undefined ? { previousOutput: basis.output } : {}),
  };
}

export function recordGenerated(records: readonly IterationRecord[], e: StepGenerated): IterationRecord[] {
  return records.map((r) =>
    r.attempt === e.attempt
      ? {
          ...r,
          model: e.model,
          output: e.output,
          ...(e.structured !== undefined ? { structured: e.structured } : {}),
          messages: e.messages,
          usage: e.usage,
          generationMs: Math.max(0, Date.parse(e.finishedAt) - Date.parse(e.startedAt)),
        }
      : r,
  );
}

export function recordVerified(records: readonly IterationRecord[], e: StepVerified): IterationRecord[] {
  return records.map((r) =>
    r.attempt === e.attempt
      ? {
          ...r,
          score: e.score,
          critical: e.violations.some((v) => v.severity === 'critical'),
          categories: e.categories,
          violations: e.violations,
          verdict: e.verdict,
          ...(e.stop ? { stop: e.stop } : {}),
          ...(e.feedback !== undefined ? { feedback: e.feedback } : {}),
          ...(e.escalateTo ? { escalateTo: e.escalateTo } : {}),
          ...(e.best ? { best: e.best } : {}),
          ...(e.examplesReused !== undefined ? { reviseBest: e.examplesReused } : {}),
          ...(e.judgeUsage ? { judgeUsage: e.judgeUsage } : {}),
          ...(e.durationMs !== undefined ? { verificationMs: e.durationMs } : {}),
        }
      : r,
  );
}

/** The verified rounds before `attempt`, for the verifier's stop rules. */
export function historyOf(records: readonly IterationRecord[], attempt: number): VerifyRound[] {
  return records
    .filter((r) => r.attempt < attempt && r.score !== undefined)
    .map((r) => ({ iteration: r.iteration, attempt: r.attempt, score: r.score!, critical: r.critical ?? false, model: r.model, escalated: r.escalated }));
}

/** The candidate the last verdict ranked best, when it is kept. */
export function bestRecord(records: readonly IterationRecord[]): IterationRecord | undefined {
  const best = records.at(-1)?.best;
  return best ? records.find((r) => r.attempt === best.attempt) : undefined;
}
