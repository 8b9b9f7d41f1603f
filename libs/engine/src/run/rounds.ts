import type { CandidateRef, ChatMessage, StepGenerated, StepVerified, StopReason, TokenUsage, VerifyRound, Violation } from '@trellis/contracts';
import { keptValues, mergeReused, outputTokensSaved } from '../verify/reuse';

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
  /** This round revises the best earlier candidate, not the previous round's (the previous verdict's `reviseBest`). */
  revisedBest: boolean;
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
  /** The verdict's `reusedFields`: what the next round keeps of the candidate it revises. */
  nextReuse?: string[];
  /** This round kept these output fields of the candidate of attempt `reusedFrom` (`iterate.reuse`). */
  reusedFields?: string[];
  reusedFrom?: number;
  /** The output tokens the kept fields cost when written, not spent again. */
  outputTokensSaved?: number;
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
    const round: IterationRecord = { iteration: 1, attempt, model, feedbackUsed: false, revisedBest: false, escalated: false, dispatchedAt: now.toISOString() };
    return { records: [round], round };
  }
  const escalated = last.verdict === 'escalate' && last.escalateTo !== undefined;
  const basis = (last.reviseBest ? records.find((r) => r.attempt === last.best?.attempt) : undefined) ?? last;
  // Fields are kept only from a candidate that has them: a JSON object.
  const reuse = last.nextReuse?.length && Object.keys(keptValues(basis.structured, last.nextReuse)).length ? { reusedFields: last.nextReuse, reusedFrom: basis.attempt } : {};
  const round: IterationRecord = {
    iteration: last.iteration + 1,
    attempt,
    model: escalated ? last.escalateTo! : model,
    feedbackUsed: last.feedback !== undefined,
    revisedBest: basis !== last,
    escalated,
    dispatchedAt: now.toISOString(),
    ...reuse,
  };
  return {
    records: [...records, round],
    round,
    ...(last.feedback !== undefined ? { feedback: last.feedback } : {}),
    ...(basis.output !== undefined ? { previousOutput: basis.output } : {}),
  };
}

/** A generated candidate as the step keeps it: a round that reused fields keeps the merge. */
export interface Candidate {
  output: string;
  structured?: unknown;
}

/**
 * The candidate of a round that kept fields (`reusedFields`): the answer with the kept values
 * of the revised candidate merged in, in the output schema's order, and the output tokens the
 * kept fields did not cost again. Undefined for any other round.
 */
export function reusedCandidate(records: readonly IterationRecord[], e: StepGenerated, schema: Record<string, unknown> | undefined): (Candidate & { saved: number }) | undefined {
  const round = records.find((r) => r.attempt === e.attempt);
  const basis = round?.reusedFields && records.find((r) => r.attempt === round.reusedFrom);
  const answer = e.structured;
  if (!round?.reusedFields || !basis || !schema || answer === null || typeof answer !== 'object' || Array.isArray(answer)) return undefined;
  const kept = keptValues(basis.structured, round.reusedFields);
  const structured = mergeReused(schema, kept, answer as Record<string, unknown>);
  return { output: JSON.stringify(structured), structured, saved: outputTokensSaved(basis.usage?.outputTokens ?? 0, basis.output ?? '', kept) };
}

export function recordGenerated(records: readonly IterationRecord[], e: StepGenerated, merged?: Candidate & { saved: number }): IterationRecord[] {
  return records.map((r) =>
    r.attempt === e.attempt
      ? {
          ...r,
          model: e.model,
          output: merged?.output ?? e.output,
          ...((merged?.structured ?? e.structured) !== undefined ? { structured: merged?.structured ?? e.structured } : {}),
          ...(merged ? { outputTokensSaved: merged.saved } : {}),
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
          ...(e.reviseBest !== undefined ? { reviseBest: e.reviseBest } : {}),
          ...(e.reusedFields?.length ? { nextReuse: e.reusedFields } : {}),
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
