import { Inject, Injectable } from '@nestjs/common';
import type { ChatMessage, GateOutcome, JudgeGateSpec, VerifyRequested } from '@trellis/contracts';
import { builtInTemplate, callParams, judgeMessages, judgeVariables, ORCHESTRATION_TEMPLATES, RenderError } from '@trellis/engine';
import { LlmError, type ProviderRegistry } from '@trellis/llm';
import { VERIFIER_CONFIG, type VerifierConfig } from '../config';
import { JUDGE_SCHEMA_NAME, judgeResponseSchema, parseJudgeAnswer } from './judge-answer';
import { JudgeFailedError, JudgeRetryableError } from './verification.errors';

/** The judge's provider registry, or null when no model endpoint is configured. */
export const JUDGE_PROVIDERS = Symbol('JUDGE_PROVIDERS');

/**
 * The `judge` gate (DESIGN §10): the run's judge template (`judgeTemplate`, pinned by the
 * planner; the built-in `trellis.judge` when the job carries none), rendered with the rubric,
 * the categories, the task and the candidate, goes to the judge model with a JSON-schema
 * `response_format` and the template's parameters; the answer's score, categories and
 * violations become the gate's outcome, its feedback goes to the next round.
 */
@Injectable()
export class JudgeGate {
  constructor(
    @Inject(VERIFIER_CONFIG) private readonly config: VerifierConfig,
    @Inject(JUDGE_PROVIDERS) private readonly providers: ProviderRegistry | null,
  ) {}

  /** The judge model: the gate's, else the job's (the pipeline's default or the judge template's), else `VERIFIER_JUDGE_MODEL`, else the candidate's model. */
  modelFor(gate: JudgeGateSpec, job: Pick<VerifyRequested, 'judgeModel' | 'model'>): string | undefined {
    return gate.model ?? job.judgeModel ?? this.config.VERIFIER_JUDGE_MODEL ?? job.model;
  }

  async evaluate(gate: JudgeGateSpec, job: VerifyRequested, signal?: AbortSignal): Promise<GateOutcome> {
    const model = this.modelFor(gate, job);
    if (!model) throw new JudgeFailedError('a judge gate has no model: set the gate\'s `model`, the pipeline\'s defaults.verify.judge_model or VERIFIER_JUDGE_MODEL', { code: 'judge_model_missing' });
    if (!this.providers) throw new JudgeFailedError('a judge gate needs a model endpoint: set OPENAI_BASE_URL on the verifier', { code: 'judge_provider_missing' });

    // The judge template version's parameters (its `model` was resolved into the job's judge model).
    const { model: _named, ...parameters } = job.judgeTemplate?.parameters ?? builtInTemplate(ORCHESTRATION_TEMPLATES.judge)!.parameters;
    let result;
    try {
      result = await this.providers.clientFor(model).chat(
        {
          model,
          messages: this.messages(gate, job),
          ...callParams(parameters),
          responseFormat: { type: 'json_schema', name: JUDGE_SCHEMA_NAME, schema: judgeResponseSchema(gate.categories), strict: true },
        },
        signal ? { signal } : {},
      );
    } catch (err) {
      if (!(err instanceof LlmError)) throw err;
      const message = `judge ${model}: ${err.message}`;
      if (!err.retryable) throw new JudgeFailedError(message, { code: `judge.${err.code}`, cause: err });
      throw new JudgeRetryableError(message, { code: `judge.${err.code}`, cause: err, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) });
    }
    if (result.finishReason === 'length') {
      throw new JudgeRetryableError(`judge ${model}: the answer was cut off at the token limit`, { code: 'judge_malformed_answer' });
    }
    const parsed = parseJudgeAnswer(result.content, gate.categories);
    if (!parsed.ok) throw new JudgeRetryableError(`judge ${model}: ${parsed.problem}`, { code: 'judge_malformed_answer' });

    const { answer } = parsed;
    // Only the declared categories count: a judge's extra ones are not part of the policy.
    const categories = Object.fromEntries(gate.categories.map((c) => [c, answer.categories[c]!]));
    return {
      gate: 'judge',
      score: answer.score,
      weight: gate.weight,
      categories,
      violations: answer.violations.map((v) => ({ rule: `judge.${v.rule}`, severity: v.severity, message: v.message })),
      model: result.model,
      feedback: answer.feedback,
      usage: result.usage,
    };
  }

  /** The judge's conversation; a template that cannot be rendered fails the step (it would fail on every delivery). */
  private messages(gate: JudgeGateSpec, job: VerifyRequested): ChatMessage[] {
    try {
      return judgeMessages(judgeVariables(gate, job.messages, job.output, job.iteration ?? 1), job.judgeTemplate?.body);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      const which = job.judgeTemplate ? `judge template ${job.judgeTemplate.name} v${job.judgeTemplate.version}` : 'the judge template';
      throw new JudgeFailedError(`${which} cannot be rendered: ${err.message}`, { code: 'judge_template_error', cause: err });
    }
  }
}
