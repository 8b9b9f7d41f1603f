import type { RunSummary, RunView, StepView } from '@trellis/contracts';
import type { RunState } from '@trellis/engine';
import type { PlannedPipeline } from '../pipelines/compiled-pipelines';
import type { Run, StepRun } from './run.entity';
import { toIterationView } from './iterations';

/** Entity ↔ contract: the only place both meet. */
export function toRunState(run: Run, steps: StepRun[]): RunState {
  return {
    status: run.status,
    inputs: run.inputs,
    steps: Object.fromEntries(
      steps.map((s) => [
        s.stepId,
        { status: s.status, attempt: s.attempt, activated: s.activated, output: stepValue(s), score: s.score === null || s.score === undefined ? null : Number(s.score) },
      ]),
    ),
  };
}

/** What conditions, templates and products read as a step's output: the parsed JSON of a JSON output, else the text. */
export function stepValue(step: StepRun): unknown {
  return step.structured ?? step.output ?? null;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export function toRunSummary(run: Run): RunSummary {
  return {
    id: run.id,
    project: run.project,
    pipeline: run.pipeline,
    pipelineVersion: run.pipelineVersion,
    status: run.status,
    usage: { inputTokens: run.inputTokens, outputTokens: run.outputTokens },
    cost: Number(run.cost ?? 0),
    error: run.error ?? null,
    createdAt: run.createdAt.toISOString(),
    finishedAt: iso(run.finishedAt),
    actor: run.actor ?? null,
  };
}

export function toRunView(run: Run, steps: StepRun[], planned: PlannedPipeline): RunView {
  const { order, steps: graph } = planned.compiled;
  const byId = new Map(steps.map((s) => [s.stepId, s]));
  return {
    ...toRunSummary(run),
    inputs: run.inputs,
    products: run.products ?? [],
    templates: (run.templates ?? []).map((t) => ({ ref: t.ref, name: t.name, version: t.version, label: t.label, level: t.level, experiment: t.experiment })),
    steps: order.flatMap((id) => {
      const s = byId.get(id);
      return s ? [toStepView(s, graph[id]?.dependsOn ?? [])] : [];
    }),
  };
}

function toStepView(s: StepRun, dependsOn: string[]): StepView {
  return {
    id: s.stepId,
    status: s.status,
    attempt: s.attempt,
    dependsOn,
    model: s.model,
    output: s.output ?? null,
    ...(s.structured !== null && s.structured !== undefined ? { structured: s.structured } : {}),
    error: s.error ?? null,
    usage: { inputTokens: s.inputTokens, outputTokens: s.outputTokens },
    cost: Number(s.cost ?? 0),
    messages: s.messages ?? null,
    score: s.score === null || s.score === undefined ? null : Number(s.score),
    executor: s.executor ?? null,
    dispatchedAt: iso(s.dispatchedAt),
    startedAt: iso(s.startedAt),
    finishedAt: iso(s.finishedAt),
    iterations: (s.iterations ?? []).map(toIterationView),
    iterationsUsed: s.iterations?.length ?? 0,
    bestScore: s.iterations?.at(-1)?.best?.score ?? null,
    stopReason: s.stopReason ?? null,
  };
}
