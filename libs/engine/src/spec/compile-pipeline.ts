import { PipelineSpec, type Issue, type SpecSource } from '@trellis/contracts';
import { batchesOf, dependentsOf, topologicalOrder, type DependencyGraph } from '../graph/topology';
import { compileCondition } from '../conditions/condition';
import { getOwn, setOwn } from '../util/records';
import { checkFlow } from './check-flow';
import { ORCHESTRATION_TEMPLATES } from '../orchestration/built-in-templates';
import { durationMs, productFormat } from './products';
import { selectModel } from './select-model';
import { checkGraph } from './check-graph';
import { checkTemplates } from './check-templates';
import { checkValues } from './check-values';
import type { CompiledPipeline, CompiledStep, CompileOptions, CompileResult } from './compiled-pipeline';
import { parseSource } from './parse-source';
import { schemaIssues } from './schema-issues';
import { specHash } from './spec-hash';
import { nextStrongerModel } from '../verify/escalation';
import { resolveVerifyPolicy } from '../verify/policy';
import { outlineOf, templateTexts, type SpecOutline } from './spec-outline';
import { templateVariables } from '../render/template-variables';

/**
 * Validates a pipeline source and lays it out for scheduling. Every issue is collected in
 * one pass (schema, dependencies, cycles, templates, inputs, gates) so an author fixes them
 * all at once; only a YAML syntax error stops early, since nothing after it is reliable.
 * Issues come back in document order.
 */
export function compilePipeline(source: SpecSource, options: CompileOptions): CompileResult {
  const parsed = parseSource(source);
  if (parsed.issues.length > 0) return { ok: false, issues: parsed.issues };

  const schema = PipelineSpec.safeParse(parsed.data);
  const outline = outlineOf(parsed.data);
  const { graph, issues: graphIssues } = checkGraph(outline, parsed.locator);
  // Routes order steps too (a route's target runs after its source) without being data
  // dependencies: a routed step may read its source's output, and comes later in the plan.
  const ordering = withRoutes(graph, outline);
  const issues = [
    ...(schema.success ? [] : schemaIssues(schema.error.issues, parsed.data, parsed.locator)),
    ...graphIssues,
    ...checkTemplates(outline, ordering, parsed.locator),
    ...checkValues(outline, parsed.locator),
    ...(schema.success && graphIssues.length === 0 ? checkFlow(schema.data, graph, ordering, parsed.locator, options) : []),
  ];
  if (!schema.success || issues.length > 0) return { ok: false, issues: inDocumentOrder(issues) };

  const order = topologicalOrder(ordering);
  if (order === undefined) {
    // checkGraph and checkFlow report every cycle, so this is unreachable unless they disagree.
    return { ok: false, issues: [{ path: ['steps'], message: 'the steps form a cycle' }] };
  }
  return { ok: true, pipeline: layOut(schema.data, graph, ordering, order, options) };
}

function withRoutes(graph: DependencyGraph, outline: SpecOutline): DependencyGraph {
  const ordering = new Map<string, string[]>([...graph].map(([id, deps]) => [id, [...deps]]));
  for (const step of outline.steps) {
    for (const target of step.routes) {
      const into = ordering.get(target);
      if (into && target !== step.id && !into.includes(step.id)) into.push(step.id);
    }
  }
  return ordering;
}

function layOut(spec: PipelineSpec, graph: DependencyGraph, ordering: DependencyGraph, order: string[], options: CompileOptions): CompiledPipeline {
  const dependents = dependentsOf(graph);
  const files = options.personalities ?? {};
  // A file personality of the name wins (this installation's own); any other name is the registry's.
  const personalityOf = (p: PipelineSpec['personality']): { text: string } | { ref: string } => {
    if (typeof p !== 'string') return { text: p.system };
    if (p.startsWith('template:')) return { ref: p.slice('template:'.length) };
    const file = getOwn(files, p);
    return file !== undefined ? { text: file } : { ref: p };
  };
  const routedFrom = new Map<string, CompiledStep['routedFrom']>();
  for (const [id, step] of Object.entries(spec.steps)) {
    for (const [field, when] of [['on_false', 'false'], ['on_success', 'success'], ['on_failure', 'failure']] as const) {
      const target = step[field];
      if (target !== undefined) routedFrom.set(target, [...(routedFrom.get(target) ?? []), { from: id, when }]);
    }
  }
  const steps: Record<string, CompiledStep> = {};
  for (const [id, step] of Object.entries(spec.steps)) {
    const params: CompiledStep['params'] = {};
    if (step.temperature !== undefined) params.temperature = step.temperature;
    if (step.max_tokens !== undefined) params.maxTokens = step.max_tokens;
    const { model, reason } = modelOf(step, spec, options);
    const compiled: CompiledStep = {
      id,
      kind: step.tool !== undefined ? 'tool' : step.template !== undefined ? 'template' : 'prompt',
      dependsOn: [...(graph.get(id) ?? [])],
      dependents: dependents.get(id) ?? [],
      prompt: step.prompt ?? '',
      model,
      modelNamed: step.model !== undefined,
      modelReason: reason,
      pool: step.pool ?? options.defaultPool,
      params,
      routedFrom: routedFrom.get(id) ?? [],
      reads: readsOf(step, [...(graph.get(id) ?? []), ...(routedFrom.get(id) ?? []).map((r) => r.from)]),
    };
    if (step.tool === undefined) {
      const personality = personalityOf(step.personality ?? spec.personality);
      if ('ref' in personality) compiled.personality = personality.ref;
      const system = ['text' in personality ? personality.text : '', step.system].filter(Boolean).join('\n\n');
      if (system) compiled.system = system;
    }
    if (step.tool !== undefined) compiled.tool = { name: step.tool, with: step.with ?? {} };
    if (step.template !== undefined) {
      const [name = step.template, selector] = step.template.split('@');
      compiled.template = { name, ...(selector ? { selector } : {}), with: step.with ?? {} };
    }
    if (step.output) compiled.output = step.output;
    const retry = step.retry ?? spec.defaults.retry;
    if (retry) compiled.retry = { attempts: retry.attempts, initialMs: durationMs(retry.backoff.initial), maxMs: durationMs(retry.backoff.max) };
    const timeout = step.timeout ?? spec.defaults.timeout;
    if (timeout !== undefined) compiled.timeoutMs = durationMs(timeout);
    if (step.condition !== undefined) {
      const condition = compileCondition(step.condition);
      if (condition.ok) compiled.condition = condition.condition;
    }
    if (step.on_false !== undefined) compiled.onFalse = step.on_false;
    if (step.on_success !== undefined) compiled.onSuccess = step.on_success;
    if (step.on_failure !== undefined) compiled.onFailure = step.on_failure;
    if (step.verify) {
      const policy = resolveVerifyPolicy(step.verify, spec.defaults.verify);
      const candidates = step.expert !== undefined ? (getOwn(spec.experts, step.expert) ?? []) : [];
      const escalateTo = policy.escalate ? nextStrongerModel(model, candidates, options.catalog) : undefined;
      const judged = step.verify.gates.some((g) => typeof g === 'object' && 'judge' in g);
      const judgeModel = spec.defaults.verify?.judge_model;
      compiled.verify = {
        gates: step.verify.gates,
        policy,
        ...(judgeModel !== undefined ? { judgeModel } : {}),
        ...(escalateTo !== undefined ? { escalateTo } : {}),
        ...(judged ? { judgeTemplate: step.verify.judge?.template ?? spec.defaults.verify?.judge?.template ?? ORCHESTRATION_TEMPLATES.judge } : {}),
        feedbackTemplate: ORCHESTRATION_TEMPLATES.feedback,
        ...(step.verify.iterate.reuse ? { reuse: [...step.verify.iterate.reuse] } : {}),
      };
    }
    setOwn(steps, id, compiled);
  }
  return {
    spec,
    hash: specHash(spec),
    steps,
    order,
    batches: batchesOf(ordering, order),
    roots: [...ordering].filter(([, deps]) => deps.length === 0).map(([id]) => id),
    criticalPath: criticalPath(ordering, order),
    products: spec.products.map((p) => ({ path: p.path, from: p.from, format: productFormat(p.path, p.format) })),
    ...(spec.concurrency ? { concurrency: concurrencyOf(spec.concurrency) } : {}),
  };
}

function concurrencyOf(c: NonNullable<PipelineSpec['concurrency']>): NonNullable<CompiledPipeline['concurrency']> {
  if (c.key === undefined) return { max: c.max };
  const key = compileCondition(c.key);
  // checkFlow reported a key that does not compile; a pipeline with one never gets here.
  return key.ok ? { max: c.max, key: key.condition } : { max: c.max };
}

/** `direct` (dependencies and route sources) and every step the step's Liquid texts name. */
function readsOf(step: PipelineSpec['steps'][string], direct: string[]): string[] {
  const read = new Set(direct);
  for (const { text } of templateTexts(step)) {
    for (const path of templateVariables(text)) if (path[0] === 'steps' && path[1] !== undefined) read.add(path[1]);
  }
  return [...read];
}

function modelOf(step: PipelineSpec['steps'][string], spec: PipelineSpec, options: CompileOptions): { model: string; reason: string } {
  if (step.tool !== undefined) return { model: '-', reason: 'a tool step calls no model' };
  if (step.model !== undefined) return { model: step.model, reason: 'named by the step' };
  if (step.expert !== undefined) {
    const chosen = selectModel(step.expert, getOwn(spec.experts, step.expert) ?? [], step.selection ?? spec.defaults.selection ?? spec.selection, step.needs ?? [], options.catalog);
    if (chosen.ok) return { model: chosen.choice.model, reason: chosen.choice.reason };
  }
  if (spec.model !== undefined) return { model: spec.model, reason: "the pipeline's default model" };
  return { model: options.defaultModel, reason: "the planner's default model (TRELLIS_DEFAULT_MODEL)" };
}

/** The longest chain of steps through the ordering graph; ties go to the earlier declared. */
function criticalPath(ordering: DependencyGraph, order: string[]): string[] {
  const best = new Map<string, string[]>();
  for (const id of order) {
    let longest: string[] = [];
    for (const dep of ordering.get(id) ?? []) {
      const chain = best.get(dep) ?? [];
      if (chain.length > longest.length) longest = chain;
    }
    best.set(id, [...longest, id]);
  }
  return [...best.values()].reduce((a, b) => (b.length > a.length ? b : a), []);
}

/** Positioned issues by line and column; issues without a position keep their order, last. */
function inDocumentOrder(issues: Issue[]): Issue[] {
  const key = (i: Issue) => [i.line ?? Number.MAX_SAFE_INTEGER, i.column ?? Number.MAX_SAFE_INTEGER] as const;
  return [...issues].sort((a, b) => {
    const [la, ca] = key(a);
    const [lb, cb] = key(b);
    return la - lb || ca - cb;
  });
}
