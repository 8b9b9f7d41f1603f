import type { IterationView, RunSummary, RunView, StepView } from '@trellis/contracts';
import { stepCall, type CompiledPipeline, type CompiledStep, type IterationRecord, type RunRecord, type RunSnapshot, type StepRecord } from '@trellis/engine';

/** Records → the contract's views: the only place both meet. */

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toRunSummary(run: RunRecord): RunSummary {
  return {
    id: run.id,
    project: run.project,
    pipeline: run.pipeline,
    pipelineVersion: run.pipelineVersion,
    status: run.status,
    usage: { inputTokens: run.inputTokens, outputTokens: run.outputTokens },
    cost: run.cost,
    error: run.error,
    createdAt: run.createdAt.toISOString(),
    finishedAt: iso(run.finishedAt),
    actor: run.actor ?? null,
    priority: run.priority,
    startedAt: iso(run.startedAt),
    queue: null,
  };
}

/** The view of a run; `queue`: a queued run's place and the wait to expect. */
export function toRunView({ run, steps }: RunSnapshot, compiled: CompiledPipeline, queue: RunView['queue']): RunView {
  return {
    ...toRunSummary(run),
    queue,
    inputs: run.inputs,
    products: run.products,
    templates: run.templates.map((t) => ({ ref: t.ref, name: t.name, category: t.category, version: t.version, label: t.label, level: t.level, experiment: t.experiment })),
    strategies: run.strategies,
    steps: compiled.order.flatMap((id) => {
      const s = Object.prototype.hasOwnProperty.call(steps, id) ? steps[id] : undefined;
      const spec = compiled.steps[id];
      return s && spec ? [toStepView(s, spec, run)] : [];
    }),
  };
}

function toStepView(s: StepRecord, spec: CompiledStep, run: RunRecord): StepView {
  return {
    id: s.stepId,
    status: s.status,
    attempt: s.attempt,
    dependsOn: spec.dependsOn,
    model: s.model,
    output: s.output,
    ...(s.structured !== null && s.structured !== undefined ? { structured: s.structured } : {}),
    // The parameters its calls are sent with: the same function that built its jobs.
    parameters: stepCall(spec, run).parameters,
    error: s.error,
    usage: { inputTokens: s.inputTokens, outputTokens: s.outputTokens },
    cost: s.cost,
    messages: s.messages,
    score: s.score,
    executor: s.executor,
    dispatchedAt: iso(s.dispatchedAt),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    iterations: s.iterations.map(toIterationView),
    iterationsUsed: s.iterations.length,
    bestScore: s.iterations.at(-1)?.best?.score ?? null,
    stopReason: s.stopReason,
  };
}

function toIterationView(r: IterationRecord): IterationView {
  return {
    iteration: r.iteration,
    attempt: r.attempt,
    model: r.model,
    score: r.score ?? null,
    categories: r.categories ?? {},
    violations: r.violations ?? [],
    verdict: r.verdict ?? null,
    stop: r.stop ?? null,
    durationMs: r.verificationMs !== undefined && r.generationMs !== undefined ? r.generationMs + r.verificationMs : null,
    usage: r.usage ?? { inputTokens: 0, outputTokens: 0 },
    judgeUsage: r.judgeUsage ?? null,
    feedbackUsed: r.feedbackUsed,
    examplesReused: r.examplesReused,
    escalated: r.escalated,
    reusedFields: r.reusedFields ?? [],
    outputTokensSaved: r.outputTokensSaved ?? 0,
  };
}
