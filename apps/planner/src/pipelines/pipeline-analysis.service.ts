import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { callParams, canonicalJson, effectiveParameters, ORCHESTRATION_TEMPLATES, renderMessages, RenderError, type CompiledPipeline } from '@trellis/engine';
import { chatJson, LlmError, ProviderRegistry } from '@trellis/llm';
import type { EntityManager } from '@trellis/persistence';
import type { PipelineAnalysis } from '@trellis/contracts';
import { z } from 'zod';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { PlannerError } from '../planner.errors';
import { TemplatePins } from '../runs/template-pins';
import { PipelineAnalysisRow } from './pipeline.entity';
import { PipelineRepository } from './pipeline.repository';

/** Whose overrides of the analysis prompt apply (the template hierarchy). */
export interface AnalysisScope {
  project: string;
  feature?: string;
}

/** What the orchestrator model must answer, as JSON Schema (structured output) and as a check. */
const Answer = z.strictObject({
  intention: z.string().min(1),
  architecture: z.string().min(1),
  aligned: z.boolean(),
  feedback: z.string(),
});
const ANSWER_SCHEMA = z.toJSONSchema(Answer) as Record<string, unknown>;

/** A pipeline's analysis, and which prompt it answered (the cache key beside the spec's hash). */
export interface Analysed {
  analysis: PipelineAnalysis;
  prompt: string;
}

/**
 * Asks the pipeline's orchestrator model (spec `orchestrator:`) for its intention and
 * architecture. The prompt is a registry template (`orchestrator.template`, default the seeded
 * `trellis.analysis`, category `orchestration`), resolved for the project and feature like any
 * template and rendered with the spec (`{{ inputs.spec }}`); the model is the spec's, the other
 * parameters the template version's. The answer is cached by spec hash and prompt, so
 * registering the same spec again, or in another project with the same prompt, costs nothing.
 * With `check_alignment`, a pipeline whose architecture does not serve its intention is refused
 * with the model's feedback, unless the caller overrides the check: on registration, on
 * validation and on a run of an inline spec.
 */
@Injectable()
export class PipelineAnalysisService {
  private readonly providers: ProviderRegistry | undefined;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    private readonly pipelines: PipelineRepository,
    private readonly pins: TemplatePins,
  ) {
    this.providers = config.OPENAI_BASE_URL
      ? new ProviderRegistry({ defaultProvider: { baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY } })
      : undefined;
  }

  async analyse(em: EntityManager, compiled: CompiledPipeline, overrideAlignment: boolean, scope: AnalysisScope): Promise<Analysed | null> {
    const orchestrator = compiled.spec.orchestrator;
    if (!orchestrator) return null;
    const request = await this.request(compiled, scope);
    const cached = await em.findOne(PipelineAnalysisRow, { hash: compiled.hash, prompt: request.prompt });
    const analysis = cached ? toView(cached) : await this.ask(em, compiled, request);
    if (orchestrator.check_alignment && !analysis.aligned && !overrideAlignment) {
      throw new PlannerError('failed_precondition', `the orchestrator model found that the pipeline does not serve its intention: ${analysis.feedback}`, [
        { path: ['orchestrator', 'check_alignment'], message: analysis.feedback || 'not aligned' },
      ]);
    }
    return { analysis, prompt: request.prompt };
  }

  /**
   * The alignment check alone, for a spec that is validated or run inline rather than
   * registered: only with `check_alignment` and no override is the model asked (nothing else
   * on these paths would show its analysis). The answer is cached by the spec's hash, for which
   * the spec is stored (specs are immutable and content-addressed; nothing is registered).
   */
  async check(em: EntityManager, compiled: CompiledPipeline, overrideAlignment: boolean, scope: AnalysisScope): Promise<void> {
    if (!compiled.spec.orchestrator?.check_alignment || overrideAlignment) return;
    await this.pipelines.saveSpec(em, compiled.hash, compiled.spec);
    await this.analyse(em, compiled, false, scope);
  }

  /** The stored analysis of a spec for the prompt it was registered with, if any (for showing a registered pipeline). */
  async cached(em: EntityManager, hash: string, prompt: string | null): Promise<PipelineAnalysis | null> {
    const row = await em.findOne(PipelineAnalysisRow, { hash, prompt: prompt ?? '' });
    return row ? toView(row) : null;
  }

  /** The orchestrator's request: the analysis template rendered with the spec, its parameters, and a key naming both. */
  private async request(compiled: CompiledPipeline, scope: AnalysisScope) {
    const orchestrator = compiled.spec.orchestrator!;
    const template = await this.pins.analysisTemplate(scope.project, scope.feature, orchestrator.template ?? ORCHESTRATION_TEMPLATES.analysis);
    let messages;
    try {
      messages = renderMessages(template.body, { spec: canonicalJson(compiled.spec) });
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      throw new PlannerError('invalid_argument', `analysis template "${template.ref}" (version ${template.version}) cannot be rendered: ${err.message}`, [{ path: ['orchestrator', 'template'], message: err.message }]);
    }
    // The spec names the orchestrator model; the template version gives the rest.
    const { model, parameters } = effectiveParameters({ model: orchestrator.model, modelNamed: true, params: {} }, template.parameters);
    const prompt = createHash('sha256').update(canonicalJson({ messages, parameters })).digest('hex');
    return { model, messages, params: callParams(parameters), prompt };
  }

  private async ask(em: EntityManager, compiled: CompiledPipeline, request: Awaited<ReturnType<PipelineAnalysisService['request']>>): Promise<PipelineAnalysis> {
    const { model } = request;
    if (!this.providers) {
      throw new PlannerError('failed_precondition', 'the pipeline names an orchestrator model, but the planner has no model provider (set OPENAI_BASE_URL)');
    }
    let content: string;
    try {
      // A provider that refuses `response_format` is asked with the schema in the prompt instead.
      const { result } = await chatJson(
        this.providers,
        { model, messages: request.messages, ...request.params, responseFormat: { type: 'json_schema', name: 'pipeline_analysis', schema: ANSWER_SCHEMA } },
        { schema: ANSWER_SCHEMA },
      );
      content = result.content;
    } catch (err) {
      if (err instanceof LlmError) throw new PlannerError(err.retryable ? 'unavailable' : 'failed_precondition', `the orchestrator model ${model} could not analyse the pipeline: ${err.message}`);
      throw err;
    }
    let answer: z.infer<typeof Answer>;
    try {
      answer = Answer.parse(JSON.parse(content));
    } catch {
      throw new PlannerError('unavailable', `the orchestrator model ${model} did not answer with the expected JSON; try again`);
    }
    await em.upsert(PipelineAnalysisRow, { hash: compiled.hash, prompt: request.prompt, model, ...answer, createdAt: new Date() }, { onConflictAction: 'ignore', onConflictFields: ['hash', 'prompt'] });
    return { ...answer, model };
  }
}

function toView(row: PipelineAnalysisRow): PipelineAnalysis {
  return { intention: row.intention, architecture: row.architecture, aligned: row.aligned, feedback: row.feedback, model: row.model };
}
