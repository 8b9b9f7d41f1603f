import type { ChatMessage, FailureInfo, ProductView, RecordedCall, ResolvedTemplate, RunSource, RunStatus, StepStatus, StopReason, StrategyPin } from '@trellis/contracts';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { setOwn } from '../util/records';
import type { IterationRecord } from './rounds';

/**
 * Everything the planner keeps about a run, field for field what it stores (the planner's
 * table module maps each field to a column). The engine reads it to decide and answers with
 * patches of it; it never holds a run of its own.
 */
export interface RunRecord {
  id: string;
  project: string;
  pipeline: string;
  /** 0 for a run of an inline spec that was never registered. */
  pipelineVersion: number;
  specHash: string;
  status: RunStatus;
  inputs: Record<string, unknown>;
  inputTokens: number;
  outputTokens: number;
  /** USD, from the catalog's prices. */
  cost: number;
  error: FailureInfo | null;
  products: ProductView[];
  /** The registry templates pinned at start: template steps', and the orchestration's own (personality, judge, feedback). */
  templates: ResolvedTemplate[];
  /** The strategy experiments the run is in (pipeline version, selection mode, iteration policy), with the variant each gave it. */
  strategies: StrategyPin[];
  /** Who experiment assignment sticks to. */
  subject: string | null;
  /** Model answers are streamed as `step.progress` events. */
  stream: boolean;
  /** Who started it: the API key's id (the gateway's audit trail names the same). */
  actor: string | null;
  /** Its model and tool calls are recorded (the project's setting at start). */
  recording: boolean;
  /** A replay: the run it replays, the step it was forked from, how it answers calls. */
  source: RunSource | null;
  /** A replay that answers from a recording: the source's calls of the steps it runs, pinned at start like its templates. */
  replayCalls: RecordedCall[];
  /** 1 (lowest) to 5: the order queued runs start and held steps leave in, within the project. */
  priority: number;
  /**
   * The group whose concurrency the run counts against (`<pipeline>#<key value>`, or
   * `<pipeline>` without a key), when its pipeline limits concurrency; null otherwise.
   */
  concurrencyKey: string | null;
  /** When it left the queue and began (at once, when it never waited). */
  startedAt: Date | null;
  /** Changes applied to the run so far: the optimistic-concurrency token, and a per-run sequence for event ids. */
  version: number;
  createdAt: Date;
  finishedAt: Date | null;
}

/** One step of one run, with its latest attempt's result. */
export interface StepRecord {
  runId: string;
  stepId: string;
  status: StepStatus;
  /** Dispatches so far: 0 until first sent, then 1, 2, … */
  attempt: number;
  model: string;
  output: string | null;
  /** The parsed value of a JSON output. */
  structured: unknown;
  /** A routed step: a route into it fired. */
  activated: boolean;
  /** The conversation the model was sent. */
  messages: ChatMessage[] | null;
  error: FailureInfo | null;
  score: number | null;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  /** The executor replica whose result was applied. */
  executor: string | null;
  dispatchedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The verification loop's rounds of the current loop (a resume starts a new one), oldest first. */
  iterations: IterationRecord[];
  stopReason: StopReason | null;
  /**
   * A replay: `reused`, carried over from the source run without running; `recorded`, its
   * answer came from the source's recording; null, it ran as any step does.
   */
  origin: StepOrigin | null;
}

export type StepOrigin = 'reused' | 'recorded';

/** A run and its steps, by step id. Treated as immutable: a change yields a new snapshot. */
export interface RunSnapshot {
  readonly run: RunRecord;
  readonly steps: Readonly<Record<string, StepRecord>>;
}

/** What a new run is made of; the rest starts empty. */
export type NewRun = Pick<
  RunRecord,
  'id' | 'project' | 'pipeline' | 'pipelineVersion' | 'inputs' | 'templates' | 'subject' | 'stream' | 'actor' | 'recording' | 'priority' | 'concurrencyKey' | 'createdAt'
> &
  Partial<Pick<RunRecord, 'strategies'>>;

/**
 * A run that has not started: queued (not admitted yet), every step pending at attempt 0 on its
 * compiled model. The `start` input begins it; `queue` announces that it waits.
 */
export function newRunSnapshot(pipeline: CompiledPipeline, fields: NewRun): RunSnapshot {
  const run: RunRecord = {
    strategies: [],
    ...fields,
    specHash: pipeline.hash,
    status: 'queued',
    startedAt: null,
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
    error: null,
    products: [],
    source: null,
    replayCalls: [],
    version: 0,
    finishedAt: null,
  };
  const steps: Record<string, StepRecord> = {};
  for (const stepId of pipeline.order) setOwn(steps, stepId, newStepRecord(fields.id, stepId, pipeline.steps[stepId]!.model));
  return { run, steps };
}

export function newStepRecord(runId: string, stepId: string, model: string): StepRecord {
  return {
    runId,
    stepId,
    status: 'pending',
    attempt: 0,
    model,
    output: null,
    structured: null,
    activated: false,
    messages: null,
    error: null,
    score: null,
    inputTokens: 0,
    outputTokens: 0,
    cost: 0,
    executor: null,
    dispatchedAt: null,
    startedAt: null,
    finishedAt: null,
    iterations: [],
    stopReason: null,
    origin: null,
  };
}

/** What conditions, templates and products read as a step's output: the parsed JSON of a JSON output, else the text. */
export function stepValue(step: Pick<StepRecord, 'structured' | 'output'>): unknown {
  return step.structured ?? step.output ?? null;
}
