import { Inject, Injectable } from '@nestjs/common';
import { canonicalJson, type CompiledPipeline } from '@trellis/engine';
import { LlmError, ProviderRegistry } from '@trellis/llm';
import type { EntityManager } from '@trellis/persistence';
import type { PipelineAnalysis } from '@trellis/contracts';
import { z } from 'zod';
import { PLANNER_CONFIG, type PlannerConfig } from '../config';
import { PlannerError } from '../planner.errors';
import { PipelineAnalysisRow } from './pipeline.entity';
import { PipelineRepository } from './pipeline.repository';

/** What the orchestrator model must answer, as JSON Schema (structured output) and as a check. */
const Answer = z.strictObject({
  intention: z.string().min(1),
  architecture: z.string().min(1),
  aligned: z.boolean(),
  feedback: z.string(),
});
const ANSWER_SCHEMA = z.toJSONSchema(Answer) as Record<string, unknown>;

const INSTRUCTIONS = `You review LLM pipelines before they run. Given a pipeline spec (YAML-like JSON), answer in JSON:
- "intention": what the pipeline is for, in 3 to 10 sentences of Markdown, written as documentation (no greeting, no "I").
- "architecture": how it works: its control flow, which steps depend on which, where conditions and routes branch, where models, tools and quality gates are used, and what it produces.
- "aligned": true when the architecture serves the intention; false when a step is missing, misplaced, unreachable or works against the intention.
- "feedback": when not aligned, concrete changes that would align it, naming steps; otherwise an empty string.`;

/**
 * Asks the pipeline's orchestrator model (spec `orchestrator:`) for its intention and
 * architecture once per spec: the answer is cached by spec hash, so registering the same
 * spec again, or in another project, costs nothing. With `check_alignment`, a pipeline whose
 * architecture does not serve its intention is refused with the model's feedback, unless the
 * caller overrides the check: on registration, on validation and on a run of an inline spec.
 */
@Injectable()
export class PipelineAnalysisService {
  private readonly providers: ProviderRegistry | undefined;

  constructor(
    @Inject(PLANNER_CONFIG) config: PlannerConfig,
    private readonly pipelines: PipelineRepository,
  ) {
    this.providers = config.OPENAI_BASE_URL
      ? new ProviderRegistry({ defaultProvider: { baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY } })
      : undefined;
  }

  async analyse(em: EntityManager, compiled: CompiledPipeline, overrideAlignment: boolean): Promise<PipelineAnalysis | null> {
    const orchestrator = compiled.spec.orchestrator;
    if (!orchestrator) return null;
    const cached = await em.findOne(PipelineAnalysisRow, { hash: compiled.hash });
    const analysis = cached ? toView(cached) : await this.ask(em, compiled, orchestrator.model);
    if (orchestrator.check_alignment && !analysis.aligned && !overrideAlignment) {
      throw new PlannerError('failed_precondition', `the orchestrator model found that the pipeline does not serve its intention: ${analysis.feedback}`, [
        { path: ['orchestrator', 'check_alignment'], message: analysis.feedback || 'not aligned' },
      ]);
    }
    return analysis;
  }

  /**
   * The alignment check alone, for a spec that is validated or run inline rather than
   * registered: only with `check_alignment` and no override is the model asked (nothing else
   * on these paths would show its analysis). The answer is cached by the spec's hash, for which
   * the spec is stored (specs are immutable and content-addressed; nothing is registered).
   */
  async check(em: EntityManager, compiled: CompiledPipeline, overrideAlignment: boolean): Promise<void> {
    if (!compiled.spec.orchestrator?.check_alignment || overrideAlignment) return;
    await this.pipelines.saveSpec(em, compiled.hash, compiled.spec);
    await this.analyse(em, compiled, false);
  }

  /** The stored analysis of a spec, if any (for showing a registered pipeline). */
  async cached(em: EntityManager, hash: string): Promise<PipelineAnalysis | null> {
    const row = await em.findOne(PipelineAnalysisRow, { hash });
    return row ? toView(row) : null;
  }

  private async ask(em: EntityManager, compiled: CompiledPipeline, model: string): Promise<PipelineAnalysis> {
    if (!this.providers) {
      throw new PlannerError('failed_precondition', 'the pipeline names an orchestrator model, but the planner has no model provider (set OPENAI_BASE_URL)');
    }
    let content: string;
    try {
      const result = await this.providers.clientFor(model).chat({
        model,
        messages: [
          { role: 'system', content: INSTRUCTIONS },
          { role: 'user', content: canonicalJson(compiled.spec) },
        ],
        temperature: 0,
        responseFormat: { type: 'json_schema', name: 'pipeline_analysis', schema: ANSWER_SCHEMA },
      });
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
    await em.upsert(PipelineAnalysisRow, { hash: compiled.hash, model, ...answer, createdAt: new Date() }, { onConflictAction: 'ignore', onConflictFields: ['hash'] });
    return { ...answer, model };
  }
}

function toView(row: PipelineAnalysisRow): PipelineAnalysis {
  return { intention: row.intention, architecture: row.architecture, aligned: row.aligned, feedback: row.feedback, model: row.model };
}
