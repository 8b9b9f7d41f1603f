import type { Issue, RecordedCall, ResolvedTemplate, RunSource } from '@trellis/contracts';
import { templateNeeds } from '../orchestration/template-needs';
import { templateVariables } from '../render/template-variables';
import { newRunSnapshot, type NewRun, type RunSnapshot, type StepRecord } from '../run/run-record';
import type { CompiledPipeline, CompiledStep } from '../spec/compiled-pipeline';
import { canonicalJson } from '../spec/spec-hash';
import { templateTexts } from '../spec/spec-outline';
import { getOwn, setOwn } from '../util/records';

/**
 * Which steps of a replay run again and which are carried over from the source run
 * (docs/replay.md, ADR 0015). A step runs again when it is `from`, when an override reaches
 * it (it reads an input whose value changed, renders a template whose pinned version
 * changed, or its definition in the replay's pipeline differs from the source's: another
 * model, prompt or gate, or a step the source did not have), when it did not succeed in the
 * source, and when it is downstream of any of those (it depends on it, reads its output,
 * is routed from it, or its condition reads it). Every other step keeps the source's output,
 * verdict and usage. With neither `from` nor any override, the whole run is replayed.
 */

/** The run a replay starts from. */
export interface ReplaySource {
  pipeline: CompiledPipeline;
  snapshot: RunSnapshot;
}

/** What the replay runs: the pipeline (the source's, or a changed spec), its inputs and its template pins. */
export interface ReplayTarget {
  pipeline: CompiledPipeline;
  inputs: Record<string, unknown>;
  templates: readonly ResolvedTemplate[];
}

export interface ReplayPlan {
  /** Steps that run again, in the pipeline's order, each with why. */
  rerun: Array<{ stepId: string; why: string }>;
  /** Steps carried over from the source, in the pipeline's order. */
  reused: string[];
}

export type ReplayPlanResult = { ok: true; plan: ReplayPlan } | { ok: false; issues: Issue[] };

export function planReplay(source: ReplaySource, target: ReplayTarget, from?: string): ReplayPlanResult {
  const { pipeline } = target;
  if (from !== undefined && !getOwn(pipeline.steps, from)) {
    return { ok: false, issues: [{ path: ['from'], message: `the pipeline has no step "${from}" (it has ${pipeline.order.join(', ')})` }] };
  }
  const why = new Map<string, string>();
  if (from !== undefined) why.set(from, 'forked from here');
  for (const [stepId, reason] of overridden(source, target)) if (!why.has(stepId)) why.set(stepId, reason);

  if (why.size === 0) {
    return { ok: true, plan: { rerun: pipeline.order.map((stepId) => ({ stepId, why: 'the whole run is replayed' })), reused: [] } };
  }
  for (const stepId of pipeline.order) {
    const status = getOwn(source.snapshot.steps, stepId)?.status;
    if (!why.has(stepId) && status !== undefined && status !== 'succeeded') why.set(stepId, `${status} in the source run`);
  }
  // Downstream closure, in topological order: a step's upstream is decided before it.
  const upstream = upstreamOf(pipeline);
  for (const stepId of pipeline.order) {
    if (why.has(stepId)) continue;
    const cause = (upstream.get(stepId) ?? []).find((u) => why.has(u));
    if (cause !== undefined) why.set(stepId, `downstream of "${cause}"`);
  }
  return {
    ok: true,
    plan: {
      rerun: pipeline.order.filter((s) => why.has(s)).map((stepId) => ({ stepId, why: why.get(stepId)! })),
      reused: pipeline.order.filter((s) => !why.has(s)),
    },
  };
}

/** The steps an override reaches directly, with why. */
function overridden(source: ReplaySource, target: ReplayTarget): Map<string, string> {
  const out = new Map<string, string>();
  const changedInputs = new Set(
    [...new Set([...Object.keys(source.snapshot.run.inputs), ...Object.keys(target.inputs)])].filter(
      (name) => canonicalJson(getOwn(source.snapshot.run.inputs, name) ?? null) !== canonicalJson(getOwn(target.inputs, name) ?? null),
    ),
  );
  const samePipeline = source.pipeline.hash === target.pipeline.hash;
  const repinned = repinnedSteps(source, target);
  for (const stepId of target.pipeline.order) {
    const step = target.pipeline.steps[stepId]!;
    const before = getOwn(source.pipeline.steps, stepId);
    if (!before) out.set(stepId, "not in the source run's pipeline");
    else if (!samePipeline && behaviour(before) !== behaviour(step)) out.set(stepId, 'its definition changed');
    if (out.has(stepId)) continue;
    const input = inputsRead(target.pipeline, step).find((name) => name === '*' || changedInputs.has(name));
    if (input !== undefined && changedInputs.size > 0) {
      out.set(stepId, input === '*' ? 'reads inputs that changed' : `reads inputs.${input}, which changed`);
      continue;
    }
    const pin = repinned.get(stepId);
    if (pin !== undefined) out.set(stepId, pin);
  }
  return out;
}

/**
 * Steps whose pinned templates differ from the source's (another version, level or template),
 * with why: a template step's template, and the orchestration's own that the step uses
 * (personality, judge, feedback). An orchestration reference the source did not pin (it started
 * before they were pinned) counts as unchanged: whether its calls still match is for the
 * recording to say.
 */
function repinnedSteps(source: ReplaySource, target: ReplayTarget): Map<string, string> {
  const out = new Map<string, string>();
  for (const need of templateNeeds(target.pipeline)) {
    const now = target.templates.find((t) => t.ref === need.ref);
    const then = source.snapshot.run.templates.find((t) => t.ref === need.ref);
    if (!now || (then ? now.version === then.version && now.level === then.level && now.name === then.name : need.role !== 'prompt')) continue;
    const version = `now version ${now.version}${then ? ` (was ${then.version})` : ''}`;
    const why = need.role === 'prompt' ? `renders template "${now.name}", ${version}` : `its ${need.role} template "${now.name}" is ${version}`;
    for (const stepId of need.steps) if (!out.has(stepId)) out.set(stepId, why);
  }
  return out;
}

/** What makes a step produce what it produces, as comparable text (its neighbours below it and its pool left out). */
function behaviour(step: CompiledStep): string {
  const { id: _id, dependents: _dependents, modelReason: _reason, pool: _pool, dependsOn, reads, condition, ...rest } = step;
  return canonicalJson({ ...rest, dependsOn: [...dependsOn].sort(), reads: [...reads].sort(), condition: condition?.source ?? null });
}

/** Input names the step's Liquid texts and condition read; `*` when a computed name may read any. */
function inputsRead(pipeline: CompiledPipeline, step: CompiledStep): string[] {
  const names = new Set(step.condition?.inputs ?? []);
  const spec = getOwn(pipeline.spec.steps, step.id) as Readonly<Record<string, unknown>> | undefined;
  for (const { text } of spec ? templateTexts(spec) : []) {
    for (const path of templateVariables(text)) {
      if (path[0] === 'inputs') names.add(path[1] ?? '*');
    }
  }
  return [...names];
}

/** For each step, the steps whose results it may see: dependencies, reads, route sources, condition sources. */
function upstreamOf(pipeline: CompiledPipeline): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const step of Object.values(pipeline.steps)) {
    out.set(step.id, [...new Set([...step.dependsOn, ...step.reads, ...step.routedFrom.map((r) => r.from), ...(step.condition?.steps ?? [])])]);
  }
  return out;
}

/** The pin a template step renders: the one recorded under its reference as the spec writes it. */
export function pinOf(pins: readonly ResolvedTemplate[], template: NonNullable<CompiledStep['template']>): ResolvedTemplate | undefined {
  const ref = template.selector ? `${template.name}@${template.selector}` : template.name;
  return pins.find((t) => t.ref === ref);
}

/** What the replay run is made of besides its plan. */
export interface ReplayFields extends NewRun {
  source: RunSource;
  /** The source's recorded calls (all of them; those of the steps that run again are kept). */
  recorded: readonly RecordedCall[];
}

/**
 * The replay run before its start: the steps that run again pending, the others succeeded
 * with the source's output, verdict, conversation, usage and rounds, marked `reused`; the
 * run's own usage starts at nothing (a carried-over step cost this run nothing, and a run's
 * totals are what its project's budget counts). In `recorded` modes the run pins the source's
 * recorded calls of the steps it runs (its jobs carry them: executors read no database).
 */
export function replaySnapshot(pipeline: CompiledPipeline, source: RunSnapshot, plan: ReplayPlan, fields: ReplayFields): RunSnapshot {
  const { source: origin, recorded, ...run } = fields;
  const fresh = newRunSnapshot(pipeline, run);
  const reused = new Set(plan.reused);
  const steps: Record<string, StepRecord> = {};
  for (const stepId of pipeline.order) {
    const before = getOwn(source.steps, stepId);
    const step = fresh.steps[stepId]!;
    if (before && reused.has(stepId)) {
      setOwn(steps, stepId, { ...before, runId: run.id, origin: 'reused' });
      continue;
    }
    // A route from a carried-over step fired in the source: it stays fired.
    const routedIn = before?.activated === true && pipeline.steps[stepId]!.routedFrom.some((r) => reused.has(r.from));
    setOwn(steps, stepId, routedIn ? { ...step, activated: true } : step);
  }
  const rerun = new Set(plan.rerun.map((r) => r.stepId));
  const replayCalls = origin.mode === 'live' ? [] : recorded.filter((c) => rerun.has(c.stepId));
  return { run: { ...fresh.run, source: origin, replayCalls }, steps };
}
