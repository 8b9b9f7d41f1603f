import type { Gate, Issue, PipelineSpec, VerifyPolicy } from '@trellis/contracts';
import type { CompiledCondition } from '../conditions/condition';

/** A step with every default resolved and its neighbours in the graph. */
export interface CompiledStep {
  id: string;
  /** Direct dependencies, in the order written, each once. */
  dependsOn: string[];
  /** Steps that list this one in `depends_on`, in declaration order. */
  dependents: string[];
  /** What the step does: call a model with `prompt`, render a registry `template`, or run a `tool`. */
  kind: 'prompt' | 'template' | 'tool';
  /** Liquid template of the user message (prompt steps; empty otherwise); see `renderPrompt`. */
  prompt: string;
  /**
   * The system message's own text: an inline or file personality's text, then the step's own
   * `system`. A registry personality (`personality`) goes before it, from the run's pin.
   */
  system?: string;
  /** A personality the registry answers: its reference (`name` or `name@selector`), pinned per run. */
  personality?: string;
  /** A template step's reference. */
  template?: { name: string; selector?: string; with: Record<string, unknown> };
  /** A tool step's tool and arguments (string leaves are Liquid). */
  tool?: { name: string; with: Record<string, unknown> };
  /** The model: `step.model`, else chosen among the expert's candidates, else `spec.model`, else the default. */
  model: string;
  /** The step names its model itself: a template version's `model` parameter does not replace it. */
  modelNamed: boolean;
  /** Why this model: the rule and the figures that chose it. */
  modelReason: string;
  output?: { format: 'text' | 'json' | 'markdown' | 'csv'; schema?: Record<string, unknown>; example?: unknown };
  retry?: { attempts: number; initialMs: number; maxMs: number };
  timeoutMs?: number;
  /** CEL condition: false skips the step (and routes to `onFalse`). */
  condition?: CompiledCondition;
  onFalse?: string;
  onSuccess?: string;
  onFailure?: string;
  /** Routes into this step. A routed step runs only when one of them fires. */
  routedFrom: Array<{ from: string; when: 'false' | 'success' | 'failure' }>;
  /**
   * The upstream steps whose outputs its job carries: its dependencies, its route sources,
   * and every step its Liquid texts read (prompt, system, `with:` leaves), direct or not.
   */
  reads: string[];
  /** `step.pool ?? options.defaultPool`: the work queue its executions go to. */
  pool: string;
  /** The step's own sampling settings (`temperature`, `max_tokens`): they win over a template version's parameters. */
  params: { temperature?: number; maxTokens?: number };
  /**
   * Present when the step has quality gates: its output goes to the verifier before it counts.
   * `policy`: the loop's settings (step, then `defaults.verify`, then built-ins); `judgeModel`:
   * the pipeline's `defaults.verify.judge_model`, when given; `escalateTo`: the next stronger
   * model when escalation is on and one is known; `judgeTemplate` (with a judge gate) and
   * `feedbackTemplate`: the references of the prompts the verifier renders, pinned per run;
   * `reuse`: the output fields later rounds keep.
   */
  verify?: {
    gates: Gate[];
    policy: VerifyPolicy;
    judgeModel?: string;
    escalateTo?: string;
    judgeTemplate?: string;
    feedbackTemplate: string;
    reuse?: string[];
  };
}

/**
 * A validated pipeline, ready to run: the parsed spec, its hash and the dependency graph
 * laid out for scheduling. Plain data (JSON-serialisable), so it can be cached by `hash`.
 */
export interface CompiledPipeline {
  spec: PipelineSpec;
  /**
   * sha256 (hex) of the canonical JSON of `spec` (defaults applied, keys sorted). Keys are
   * sorted, so reordering steps keeps the hash; it also does not cover the compile options.
   */
  hash: string;
  /** Keyed by step id; iteration order is declaration order. */
  steps: Record<string, CompiledStep>;
  /** A topological order; among steps ready at the same time, the earlier declared comes first. */
  order: string[];
  /** Parallel levels: batch k holds the steps whose longest dependency chain has k edges. */
  batches: string[][];
  /** Steps without dependencies, in declaration order: what a run starts with. */
  roots: string[];
  /** The longest chain of steps (by count), which bounds the run's wall time. */
  criticalPath: string[];
  /** At most `max` runs running at once per project, per value of `key` when given (`concurrencyGroup`). */
  concurrency?: { max: number; key?: CompiledCondition };
  /** Products, with their format resolved from the path when not given. */
  products: Array<{ path: string; from: string; format: 'text' | 'json' | 'csv' | 'markdown' }>;
}

/** What the planner knows of a model (from the providers file's catalog). */
export interface ModelInfo {
  /** Higher is stronger. */
  tier?: number;
  /** USD per million tokens. */
  inputPrice?: number;
  outputPrice?: number;
  contextWindow?: number;
  capabilities?: string[];
}

/** Settings a spec may leave out, and what the compiler may consult. */
export interface CompileOptions {
  defaultModel: string;
  defaultPool: string;
  /** Model catalog for expert selection, capability checks and cost estimates. */
  catalog?: Record<string, ModelInfo>;
  /** Personalities read from files (name → system text); a name they lack is a registry personality template. */
  personalities?: Record<string, string>;
}

/** A compiled pipeline, or every issue found (with YAML line and column when the source was YAML). */
export type CompileResult = { ok: true; pipeline: CompiledPipeline } | { ok: false; issues: Issue[] };
