import { Inject, Injectable } from '@nestjs/common';
import type { ChatMessage, GateOutcome, JudgeCall, JudgeGateSpec, ModelCallRequest, ReplayJob, VerifyRequested } from '@trellis/contracts';
import { builtInTemplate, callParams, judgeMessages, judgeVariables, matchRecordedCall, ORCHESTRATION_TEMPLATES, RenderError, replayMissReason } from '@trellis/engine';
import { chatJson, jsonRequests, LlmError, type ChatRequest, type ChatResult, type ProviderRegistry, type ResponseFormat } from '@trellis/llm';
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
    const schema = judgeResponseSchema(gate.categories);
    // The structured-output mode; the same request with the schema in the prompt for a provider
    // that refuses `response_format` (as a JSON step's, docs/providers.md).
    const { structured, instructed } = jsonRequests(
      { model, messages: this.messages(gate, job), ...params, responseFormat: { type: 'json_schema', name: JUDGE_SCHEMA_NAME, schema, strict: true } },
      { schema },
    );
    const replayed = job.replay ? this.recorded(job.replay, job, [structured, instructed].map((c) => modelRequest(c, params))) : undefined;
    const { result, request } = replayed ?? (await this.ask(structured, schema, params, signal));
    const call: JudgeCall = {
      call: `judge.${index}`,
      request,
      answer: { output: result.content, model: result.model, usage: result.usage, finishReason: result.finishReason },
      ...(replayed ? { replayed: true } : {}),
    };
    return { outcome: this.outcomeOf(gate, model, result), call };
  }

  /**
   * A replayed job's judge answer from the source's recording — asked for as the source asked it
   * (with `response_format`, or with instructions if its provider refused it); a miss fails the
   * step in `recorded` mode, and is asked live otherwise.
   */
  private recorded(replay: ReplayJob, job: Pick<VerifyRequested, 'stepId' | 'iteration'>, requests: ModelCallRequest[]): { result: ChatResult; request: ModelCallRequest } | undefined {
    for (const request of requests) {
      const found = matchRecordedCall(replay, request);
      if (found) return { result: { content: found.answer.output, model: found.answer.model, usage: found.answer.usage, finishReason: found.answer.finishReason }, request };
    }
    if (replay.mode === 'recorded') throw new ReplayMissError(replayMissReason(replay, requests[0]!, { stepId: job.stepId, iteration: job.iteration }));
    return undefined;
  }

  /** The judge model's answer, and the request as finally sent (see `chatJson`). */
  private async ask(chat: ChatRequest & { responseFormat: ResponseFormat }, schema: Record<string, unknown>, params: ModelCallRequest['params'], signal?: AbortSignal): Promise<{ result: ChatResult; request: ModelCallRequest }> {
    const { model } = chat;
    if (!this.providers) throw new JudgeFailedError('a judge gate needs a model endpoint: set OPENAI_BASE_URL on the verifier', { code: 'judge_provider_missing' });
    try {
      const { result, sent } = await chatJson(this.providers, chat, { schema }, signal ? { signal } : {});
      return { result, request: modelRequest(sent, params) };
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

/** A judge request as the recording keeps it: the model, the conversation, the sampling parameters, `response_format` when asked for. */
function modelRequest(chat: ChatRequest, params: ModelCallRequest['params']): ModelCallRequest {
  return { kind: 'model', model: chat.model, messages: chat.messages, params, ...(chat.responseFormat ? { responseFormat: { ...chat.responseFormat } } : {}) };
}
