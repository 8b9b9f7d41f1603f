import { Injectable } from '@nestjs/common';
import { RunCompleted, RunResumed, StepCompleted, StepDispatched, StepReady, VerifyRequested } from '@trellis/contracts';
import type { Decision } from '@trellis/engine';
import type { SqlTransaction } from '@trellis/persistence';
import type { PlannedPipeline } from '../pipelines/compiled-pipelines';
import { EventOutbox } from '../platform/event-outbox';
import type { Run, StepRun } from './run.entity';
import { stepValue } from './run.mapper';
import { ProductStore } from './product-store';
import { historyOf, startRound } from './iterations';

/**
 * Writes one engine decision inside the caller's transaction: step statuses, activations
 * and reasons; the jobs for executors and the verifier; the public events; and, when the run
 * succeeds, its products. Nothing here decides anything.
 */
@Injectable()
export class DecisionWriter {
  constructor(
    private readonly outbox: EventOutbox,
    private readonly products: ProductStore,
  ) {}

  async write(tx: SqlTransaction, run: Run, steps: Map<string, StepRun>, planned: PlannedPipeline, decision: Decision): Promise<void> {
    const now = new Date();
    const { compiled } = planned;
    for (const change of decision.changed) {
      const step = steps.get(change.stepId)!;
      step.status = change.status;
      step.attempt = change.attempt;
      if (change.status === 'pending') {
        // Resumed: what the previous attempt left no longer describes the step; a gated step starts a new loop at round 1.
        step.error = null;
        step.finishedAt = null;
        step.iterations = [];
        step.stopReason = null;
      }
    }
    for (const stepId of decision.activated) steps.get(stepId)!.activated = true;
    for (const done of decision.completed) {
      const step = steps.get(done.stepId)!;
      if (done.reason && !step.error) step.error = done.reason;
    }

    for (const stepId of decision.dispatch) {
      const step = steps.get(stepId)!;
      const spec = compiled.steps[stepId]!;
      step.dispatchedAt = now;
      step.startedAt = null;
      step.finishedAt = null;
      step.error = null;
      const outputs: Record<string, { output: unknown }> = {};
      for (const id of planned.reads[stepId] ?? []) {
        const read = steps.get(id);
        outputs[id] = { output: read ? stepValue(read) : null };
      }
      // A step with gates runs a verification loop: each dispatch is one round of it.
      const loop = spec.verify ? startRound(step.iterations ?? [], step.attempt, spec.model, now) : undefined;
      const model = loop?.round.model ?? spec.model;
      if (loop) {
        step.iterations = loop.records;
        step.model = model;
        step.stopReason = null;
      }
      this.outbox.work(tx, StepReady, this.outbox.subjects.stepWork(spec.pool), `step-ready.${run.id}.${stepId}.${step.attempt}`, {
        runId: run.id,
        project: run.project,
        stepId,
        attempt: step.attempt,
        pool: spec.pool,
        model,
        ...(spec.kind !== 'tool' ? { prompt: spec.prompt } : {}),
        ...(spec.system !== undefined ? { system: spec.system } : {}),
        ...(spec.tool ? { tool: spec.tool } : {}),
        ...(spec.template ? { template: pinned(run, spec.template) } : {}),
        ...(spec.output ? { output: spec.output } : {}),
        ...(spec.retry ? { retry: spec.retry } : {}),
        ...(spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {}),
        context: { inputs: run.inputs, steps: outputs },
        params: {
          ...(spec.params.temperature !== undefined ? { temperature: spec.params.temperature } : {}),
          ...(spec.params.maxTokens !== undefined ? { maxTokens: spec.params.maxTokens } : {}),
        },
        ...(loop ? { iteration: loop.round.iteration } : {}),
        ...(loop?.feedback !== undefined ? { feedback: loop.feedback } : {}),
        ...(loop?.previousOutput !== undefined ? { previousOutput: loop.previousOutput } : {}),
        ...(run.stream ? { stream: true } : {}),
      });
      this.outbox.event(tx, StepDispatched, run.id, { runId: run.id, stepId, attempt: step.attempt, model, pool: spec.pool });
    }

    for (const stepId of decision.verify) {
      const step = steps.get(stepId)!;
      const spec = compiled.steps[stepId]!;
      const verify = spec.verify!;
      const records = step.iterations ?? [];
      const round = records.find((r) => r.attempt === step.attempt);
      // Escalation runs once per loop.
      const escalateTo = verify.escalateTo !== undefined && !records.some((r) => r.escalated) ? verify.escalateTo : undefined;
      this.outbox.work(tx, VerifyRequested, this.outbox.subjects.verifyWork, `verify.${run.id}.${stepId}.${step.attempt}`, {
        runId: run.id,
        project: run.project,
        stepId,
        attempt: step.attempt,
        output: step.output ?? '',
        messages: step.messages ?? [],
        gates: verify.gates,
        acceptAt: verify.acceptAt,
        iteration: round?.iteration ?? 1,
        policy: verify.policy,
        history: historyOf(records, step.attempt),
        model: step.model,
        judgeModel: verify.judgeModel,
        escalated: round?.escalated ?? false,
        ...(spec.output?.schema ? { outputSchema: spec.output.schema } : {}),
        ...(escalateTo !== undefined ? { escalateTo } : {}),
      });
    }

    for (const done of decision.completed) {
      const step = steps.get(done.stepId)!;
      step.finishedAt ??= now;
      this.outbox.event(tx, StepCompleted, run.id, {
        runId: run.id,
        stepId: done.stepId,
        status: done.status,
        attempt: step.attempt,
        ...(done.status === 'succeeded' && step.output !== null && step.output !== undefined ? { output: step.output } : {}),
        ...(step.error ? { error: step.error } : {}),
      });
    }

    if (decision.run) {
      if (decision.run.status === 'succeeded') {
        const scope = { inputs: run.inputs, steps: Object.fromEntries([...steps].map(([id, s]) => [id, { output: stepValue(s) }])) };
        run.products = await this.products.write(run.id, compiled.products, scope);
      }
      run.status = decision.run.status;
      run.error = decision.run.error ?? null;
      run.finishedAt = now;
      this.outbox.event(tx, RunCompleted, run.id, {
        runId: run.id,
        status: decision.run.status,
        usage: { inputTokens: run.inputTokens, outputTokens: run.outputTokens },
        cost: Number(run.cost),
        durationMs: now.getTime() - run.createdAt.getTime(),
        ...(decision.run.error ? { error: decision.run.error } : {}),
      });
    } else if (decision.next.status === 'running' && run.status !== 'running') {
      // Resumed: executors forget that the run had ended, so its new jobs run.
      run.status = 'running';
      run.error = null;
      run.finishedAt = null;
      const rerun = decision.changed.filter((c) => c.status === 'pending').map((c) => c.stepId);
      this.outbox.event(tx, RunResumed, run.id, { runId: run.id, steps: rerun });
    }
  }
}

/** The version a run pinned for a template step, with the step's `with`. */
function pinned(run: Run, template: { name: string; selector?: string; with: Record<string, unknown> }) {
  const ref = template.selector ? `${template.name}@${template.selector}` : template.name;
  const found = run.templates.find((t) => t.ref === ref);
  if (!found) throw new Error(`run ${run.id} has no pin for template ${ref}`);
  return { name: found.name, version: found.version, body: found.body, with: template.with };
}
