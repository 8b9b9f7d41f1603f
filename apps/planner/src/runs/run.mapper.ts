import type { IterationView, RunSummary, RunView, StepView } from '@trellis/contracts';
import { pinOf, stepCall, type CompiledPipeline, type CompiledStep, type IterationRecord, type RunRecord, type RunSnapshot, type StepRecord } from '@trellis/engine';

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
    source: run.source,
    recording: run.recording,
  };
}

function toStepView(s: StepRecord, spec: CompiledStep, run: RunRecord): StepView {
  const pin = spec.template ? pinOf(run.templates, spec.template) : undefined;
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
    template: pin ? { name: pin.name, version: pin.version } : null,
    reused: s.origin === 'reused',
    recorded: s.origin === 'recorded',
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
    revisedBest: r.revisedBest,
    escalated: r.escalated,
    reusedFields: r.reusedFields ?? [],
    outputTokensSaved: r.outputTokensSaved ?? 0,
  };
}

/**
 * An exported run's view → the records of an imported copy (`trellis runs import`): finished
 * as it was, under a new id and the importing project. What a view does not keep (the
 * candidates of earlier rounds, when each round was dispatched, the routes that fired into a
 * step that did not run) is left empty: an import is a baseline to replay and diff against.
 */
export function fromRunView(view: RunView, compiled: CompiledPipeline, fields: Pick<RunRecord, 'id' | 'project' | 'actor' | 'templates'>): RunSnapshot {
  const date = (s: string | null) => (s === null ? null : new Date(s));
  const run: RunRecord = {
    ...fields,
    pipeline: view.pipeline,
    pipelineVersion: 0,
    specHash: compiled.hash,
    status: view.status,
    inputs: view.inputs,
    inputTokens: view.usage.inputTokens,
    outputTokens: view.usage.outputTokens,
    cost: view.cost,
    error: view.error,
    products: [],
    subject: null,
    stream: false,
    recording: true,
    source: null,
    replayCalls: [],
    strategies: [],
    priority: view.priority,
    concurrencyKey: null,
    startedAt: date(view.startedAt) ?? new Date(view.createdAt),
    version: 0,
    createdAt: new Date(view.createdAt),
    finishedAt: date(view.finishedAt),
  };
  const steps: Record<string, StepRecord> = {};
  for (const s of view.steps) {
    if (!Object.prototype.hasOwnProperty.call(compiled.steps, s.id)) continue;
    Object.defineProperty(steps, s.id, {
      enumerable: true,
      writable: true,
      configurable: true,
      value: {
        runId: fields.id,
        stepId: s.id,
        status: s.status,
        attempt: s.attempt,
        model: s.model,
        output: s.output,
        structured: s.structured ?? null,
        activated: s.status === 'succeeded' && (compiled.steps[s.id]?.routedFrom.length ?? 0) > 0,
        messages: s.messages,
        error: s.error,
        score: s.score,
        inputTokens: s.usage.inputTokens,
        outputTokens: s.usage.outputTokens,
        cost: s.cost,
        executor: s.executor,
        dispatchedAt: date(s.dispatchedAt),
        startedAt: date(s.startedAt),
        finishedAt: date(s.finishedAt),
        iterations: s.iterations.map((r) => ({
          iteration: r.iteration,
          attempt: r.attempt,
          model: r.model,
          feedbackUsed: r.feedbackUsed,
          revisedBest: r.revisedBest,
          escalated: r.escalated,
          ...(r.reusedFields.length ? { reusedFields: r.reusedFields, outputTokensSaved: r.outputTokensSaved } : {}),
          dispatchedAt: s.dispatchedAt ?? view.createdAt,
          usage: r.usage,
          ...(r.score !== null ? { score: r.score } : {}),
          categories: r.categories,
          violations: r.violations,
          ...(r.verdict !== null ? { verdict: r.verdict } : {}),
          ...(r.stop !== null ? { stop: r.stop } : {}),
          ...(r.judgeUsage !== null ? { judgeUsage: r.judgeUsage } : {}),
        })),
        stopReason: s.stopReason,
        origin: s.reused ? 'reused' : s.recorded ? 'recorded' : null,
      } satisfies StepRecord,
    });
  }
  return { run, steps };
}
