import { Inject, Injectable } from '@nestjs/common';
import type { ChatMessage, GateOutcome, JudgeCall, JudgeGateSpec, ModelCallRequest, ReplayJob, VerifyRequested } from '@trellis/contracts';
import { builtInTemplate, callParams, judgeMessages, judgeVariables, matchRecordedCall, ORCHESTRATION_TEMPLATES, RenderError, replayMissReason } from '@trellis/engine';
import { LlmError, type ChatRequest, type ChatResult, type ProviderRegistry } from '@trellis/llm';
import { VERIFIER_CONFIG, type VerifierConfig } from '../config';
import { JUDGE_SCHEMA_NAME, judgeResponseSchema, parseJudgeAnswer } from './judge-answer';
import { JudgeFailedError, JudgeRetryableError, ReplayMissError } from './verification.errors';

/** The judge's provider registry, or null when no model endpoint is configured. */
export const JUDGE_PROVIDERS = Symbol('JUDGE_PROVIDERS');

/**
 * The `judge` gate (DESIGN §10): the run's judge template (`judgeTemplate`, pinned by the
 * planner; the built-in `trellis.judge` when the job carries none), rendered with the rubric,
 * the categories, the task and the candidate, goes to the judge model with a JSON-schema
 * `response_format` and the template's parameters; the answer's score, categories and
 * violations become the gate's outcome, its feedback goes to the next round. The call itself
 * (exact request and answer) goes with the verdict, for the run's recording; a replayed job's
 * judge is answered from the source's recording when its request matches (docs/replay.md).
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

  /** `index`: the gate's place in the step's gates, which names its call in the recording (`judge.<index>`). */
  async evaluate(gate: JudgeGateSpec, index: number, job: VerifyRequested, signal?: AbortSignal): Promise<{ outcome: GateOutcome; call: JudgeCall }> {
    const model = this.modelFor(gate, job);
    if (!model) throw new JudgeFailedError('a judge gate has no model: set the gate\'s `model`, the pipeline\'s defaults.verify.judge_model or VERIFIER_JUDGE_MODEL', { code: 'judge_model_missing' });
    // The judge template version's parameters (its `model` was resolved into the job's judge model).
    const { model: _named, ...parameters } = job.judgeTemplate?.parameters ?? builtInTemplate(ORCHESTRATION_TEMPLATES.judge)!.parameters;
    const params = callParams(parameters);
    const chat: ChatRequest = {
      model,
      messages: this.messages(gate, job),
      ...params,
      responseFormat: { type: 'json_schema', name: JUDGE_SCHEMA_NAME, schema: judgeResponseSchema(gate.categories), strict: true },
    };
    const request: ModelCallRequest = { kind: 'model', model, messages: chat.messages, params, responseFormat: { ...chat.responseFormat } };
    const replayed = job.replay ? this.recorded(job.replay, job, request) : undefined;
    const result = replayed ?? (await this.ask(chat, signal));
    const call: JudgeCall = {
      call: `judge.${index}`,
      request,
      answer: { output: result.content, model: result.model, usage: result.usage, finishReason: result.finishReason },
      ...(replayed ? { replayed: true } : {}),
    };
    return { outcome: this.outcomeOf(gate, model, result), call };
  }

  /** A replayed job's judge answer from the source's recording; a miss fails the step in `recorded` mode, and is asked live otherwise. */
  private recorded(replay: ReplayJob, job: Pick<VerifyRequested, 'stepId' | 'iteration'>, request: ModelCallRequest): ChatResult | undefined {
    const found = matchRecordedCall(replay, request);
    if (found) return { content: found.answer.output, model: found.answer.model, usage: found.answer.usage, finishReason: found.answer.finishReason };
    if (replay.mode === 'recorded') throw new ReplayMissError(replayMissReason(replay, request, { stepId: job.stepId, iteration: job.iteration }));
    return undefined;
  }

  private async ask(chat: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    const { model } = chat;
    if (!this.providers) throw new JudgeFailedError('a judge gate needs a model endpoint: set OPENAI_BASE_URL on the verifier', { code: 'judge_provider_missing' });
    try {
      return await this.providers.clientFor(model).chat(chat, signal ? { signal } : {});
    } catch (err) {
      if (!(err instanceof LlmError)) throw err;
      const message = `judge ${model}: ${err.message}`;
      if (!err.retryable) throw new JudgeFailedError(message, { code: `judge.${err.code}`, cause: err });
      throw new JudgeRetryableError(message, { code: `judge.${err.code}`, cause: err, ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }) });
    }
  }

  private outcomeOf(gate: JudgeGateSpec, model: string, result: ChatResult): GateOutcome {
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
      return judgeMessages(judgeVariables(gate, job.messages, job.output, job.iteration), job.judgeTemplate?.body);
    } catch (err) {
      if (!(err instanceof RenderError)) throw err;
      const which = job.judgeTemplate ? `judge template ${job.judgeTemplate.name} v${job.judgeTemplate.version}` : 'the judge template';
      throw new JudgeFailedError(`${which} cannot be rendered: ${err.message}`, { code: 'judge_template_error', cause: err });
    }
  }
}
