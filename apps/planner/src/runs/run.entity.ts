import { defineEntity, p } from '@mikro-orm/postgresql';
import type { ChatMessage, FailureInfo, ProductView, ResolvedTemplate, RunStatus, StepStatus, StopReason } from '@trellis/contracts';
import type { IterationRecord } from './iterations';

/** A run of a pipeline. The planner is its only writer. */
export const RunSchema = defineEntity({
  name: 'Run',
  tableName: 'run',
  properties: {
    id: p.string().primary(),
    project: p.string(),
    pipeline: p.string(),
    pipelineVersion: p.integer(),
    specHash: p.string(),
    status: p.string().$type<RunStatus>(),
    inputs: p.json<Record<string, unknown>>(),
    inputTokens: p.integer().default(0),
    outputTokens: p.integer().default(0),
    cost: p.double().default(0),
    error: p.json<FailureInfo>().nullable(),
    products: p.json<ProductView[]>().default([]),
    templates: p.json<ResolvedTemplate[]>().default([]),
    subject: p.string().nullable(),
    /** Model answers are streamed as `step.progress` events. */
    stream: p.boolean().default(false),
    /** Who started it: the API key's id (the gateway's audit trail names the same). */
    actor: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    finishedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['project', 'createdAt'] }],
});
export class Run extends RunSchema.class {}
RunSchema.setClass(Run);

/** One step of one run, with its latest attempt's result. */
export const StepRunSchema = defineEntity({
  name: 'StepRun',
  tableName: 'step_run',
  properties: {
    runId: p.string().primary(),
    stepId: p.string().primary(),
    status: p.string().$type<StepStatus>(),
    attempt: p.integer().default(0),
    model: p.string(),
    output: p.text().nullable(),
    structured: p.json<unknown>().nullable(),
    activated: p.boolean().default(false),
    messages: p.json<ChatMessage[]>().nullable(),
    error: p.json<FailureInfo>().nullable(),
    score: p.double().nullable(),
    inputTokens: p.integer().default(0),
    outputTokens: p.integer().default(0),
    cost: p.double().default(0),
    executor: p.string().nullable(),
    dispatchedAt: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    /** The verification loop's rounds of the current loop (a resume starts a new one), oldest first. */
    iterations: p.json<IterationRecord[]>().default([]),
    stopReason: p.string().$type<StopReason>().nullable(),
  },
});
export class StepRun extends StepRunSchema.class {}
StepRunSchema.setClass(StepRun);
