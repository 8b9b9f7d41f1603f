import { Inject, Injectable } from '@nestjs/common';
import { messageIds, resultQueues, StepFailed, StepVerified, subjects, type FailureInfo, type Gate, type GateOutcome, type JudgeCall, type TokenUsage, type VerifyRequested } from '@trellis/contracts';
import { combineGates, decideRound, evaluateDeterministicGate, planReuse, RenderError, type LoopDecision } from '@trellis/engine';
import { EventPublisher, NonRetryableError } from '@trellis/messaging';
import { logger } from '@trellis/telemetry';
import { VERIFIER_CONFIG, type VerifierConfig } from '../config';
import { JudgeGate } from './judge.gate';
import { SchemaGate } from './schema.gate';
import { ReplayMissError } from './verification.errors';

/**
 * Scores one candidate against its step's gates, applies the iteration loop's stop rules
 * (`decideRound`, libs/engine) and publishes the verdict. Stateless: the job carries the
 * loop's history, the planner owns the step and follows the verdict; the verdict's id is
 * deterministic per attempt, so a redelivered job publishes nothing new.
 */
@Injectable()
export class VerificationService {
  private readonly subjects;
  /** The planner's result queues, and where a planner takes a result directly (ADR 0017). */
  private readonly results;
  private readonly log = logger('verification');

  constructor(
    @Inject(VERIFIER_CONFIG) config: VerifierConfig,
    private readonly publisher: EventPublisher,
    private readonly judge: JudgeGate,
    private readonly schema: SchemaGate,
  ) {
    this.subjects = subjects(config.TRELLIS_NAMESPACE);
    this.results = resultQueues(this.subjects);
  }

  async verify(job: VerifyRequested, signal?: AbortSignal): Promise<void> {
    const startedAt = performance.now();
    const { iteration } = job;
    // Judges run side by side; outcomes keep the gates' order.
    let evaluated: Array<{ outcome: GateOutcome; call?: JudgeCall }>;
    try {
      evaluated = await Promise.all(job.gates.map((gate, index) => this.evaluate(gate, index, job, signal)));
    } catch (err) {
      if (err instanceof ReplayMissError) return this.failWith(job, err.toFailureInfo());
      throw err;
    }
    const outcomes = evaluated.map((e) => e.outcome);
    const calls = evaluated.flatMap((e) => (e.call ? [e.call] : []));
    const result = combineGates(outcomes);
    const judgeFeedback = outcomes.flatMap((o) => (o.feedback ? [o.feedback] : []));
    const decision = this.decide(job, {
      iteration,
      attempt: job.attempt,
      result,
      judgeFeedback,
      escalated: job.escalated ?? false,
      reuse: planReuse(job.reuse, job.outputSchema, result.violations, judgeFeedback),
    });
    const judgeUsage = sumUsage(outcomes);
    this.log.debug({ runId: job.runId, stepId: job.stepId, attempt: job.attempt, iteration, verdict: decision.verdict, score: result.score }, 'verified');
    await this.publisher.publishAndHandOff(
      StepVerified,
      {
        runId: job.runId,
        stepId: job.stepId,
        attempt: job.attempt,
        verdict: decision.verdict,
        score: result.score,
        categories: result.categories,
        violations: result.violations,
        iteration,
        reason: decision.reason,
        best: decision.best,
        reviseBest: decision.reviseBest,
        gates: outcomes,
        durationMs: Math.round(performance.now() - startedAt),
        ...(decision.stop ? { stop: decision.stop } : {}),
        ...(decision.feedback ? { feedback: decision.feedback } : {}),
        ...(decision.escalateTo ? { escalateTo: decision.escalateTo } : {}),
        ...(decision.reusedFields ? { reusedFields: decision.reusedFields } : {}),
        ...(judgeUsage ? { judgeUsage } : {}),
        ...(calls.length ? { calls } : {}),
      },
      { subject: this.subjects.event('step', 'verified', job.runId), id: messageIds.stepVerified(job.runId, job.stepId, job.attempt), ...this.results.verified },
    );
  }

  /** A job that exhausted its deliveries (the judge kept failing): its step fails with the reason, instead of waiting forever. */
  fail(job: VerifyRequested, reason: string): Promise<void> {
    return this.failWith(job, { code: 'verification_failed', message: `step "${job.stepId}" could not be verified: ${reason}`, retryable: false });
  }

  private async failWith(job: VerifyRequested, error: FailureInfo): Promise<void> {
    await this.publisher.publishAndHandOff(
      StepFailed,
      { runId: job.runId, stepId: job.stepId, attempt: job.attempt, error },
      { subject: this.subjects.event('step', 'failed', job.runId), id: messageIds.verificationFailed(job.runId, job.stepId, job.attempt), ...this.results.failed },
    );
  }

  /**
   * The loop's verdict (`decideRound`), its feedback rendered with the run's feedback template
   * and telling the next round what it keeps (`planReuse`). A template that cannot be rendered
   * fails the step: it would fail the same on every delivery.
   */
  private decide(job: VerifyRequested, round: Parameters<typeof decideRound>[2] & { reuse: ReturnType<typeof planReuse> }): LoopDecision {
    const { reuse, ...input } = round;
    try {
      return decideRound(job.policy, job.history, input, job.escalateTo, { feedbackTemplate: job.feedbackTemplate.body, reuse });
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      const { name, version } = job.feedbackTemplate;
      throw new NonRetryableError(`feedback template ${name} v${version} cannot be rendered: ${err.message}`, { code: 'feedback_template_error', cause: err });
    }
  }

  private async evaluate(gate: Gate, index: number, job: VerifyRequested, signal?: AbortSignal): Promise<{ outcome: GateOutcome; call?: JudgeCall }> {
    if (gate === 'schema') return { outcome: this.schema.evaluate(job.output, job.outputSchema) };
    if (typeof gate === 'object' && 'judge' in gate) return this.judge.evaluate(gate.judge, index, job, signal);
    return { outcome: evaluateDeterministicGate(job.output, gate)! };
  }
}

function sumUsage(outcomes: readonly GateOutcome[]): TokenUsage | undefined {
  const used = outcomes.flatMap((o) => (o.usage ? [o.usage] : []));
  if (used.length === 0) return undefined;
  return used.reduce((a, u) => ({ inputTokens: a.inputTokens + u.inputTokens, outputTokens: a.outputTokens + u.outputTokens }), { inputTokens: 0, outputTokens: 0 });
}
