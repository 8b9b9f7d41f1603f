import { Inject, Injectable } from '@nestjs/common';
import type { ChatMessage, ModelCallRequest, StepOutputSpec, StepReady } from '@trellis/contracts';
import { matchRecordedCall, renderMessages, renderPrompt, RenderError } from '@trellis/engine';
import { LlmError, planStructuredOutput, ProviderRegistry, rejectsResponseFormat, type ChatResult, type ResponseFormat, type StructuredOutputPlan } from '@trellis/llm';
import { logger } from '@trellis/telemetry';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';
import { ProviderRateLimiter, type LimitRequest } from '../rate-limits/provider-rate-limiter';
import { ProgressReporter } from '../steps/progress-reporter';
import { recordedAnswer } from '../steps/recorded-answer';
import { StepError } from '../steps/step.errors';
import { StepEventsPublisher, type GeneratedResult } from '../steps/step-events.publisher';
import { renderLeaves } from '../steps/render-leaves';
import { jsonRequest, parseJsonOutput } from './structured-output';

/** One model call of a try: its messages and, for a JSON step, its plan and `response_format`. */
interface ModelCall {
  messages: ChatMessage[];
  responseFormat?: ResponseFormat;
  plan?: StructuredOutputPlan;
}

/** A call's answer, and whether it came from a replay's recording rather than the model. */
interface Answered {
  call: ModelCall;
  result: ChatResult;
  replayed: boolean;
}

/**
 * One try of a model step: render the messages, wait for the provider's and the model's
 * rate limits, stream the answer (publishing throttled progress), check a JSON answer
 * against the step's schema, and price the call from the catalog. Every failure is a
 * {@link StepError}; the step runner decides what it means for the attempt.
 *
 * A JSON step asks for the provider's structured-output mode unless the catalog or an earlier
 * refusal says otherwise (`planStructuredOutput`). A provider that refuses `response_format`
 * is asked again at once, in the same try, with the shape in the prompt; the refusal is
 * remembered for the model, recorded on the step, and is not the step's failure.
 *
 * A replayed job (`job.replay`) is answered from the source run's recording when its request
 * is exactly one the source made (no rate limit, no call); otherwise it fails `replay_miss`
 * or calls the model, as its mode says (`recordedAnswer`). Every result carries the exact
 * request beyond its messages (model, parameters, response_format): the run's recording.
 */
@Injectable()
export class ModelStepService {
  private readonly log = logger('executor.models');

  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    private readonly providers: ProviderRegistry,
    private readonly limiter: ProviderRateLimiter,
    private readonly events: StepEventsPublisher,
  ) {}

  async run(job: StepReady, delivery: number, signal: AbortSignal): Promise<GeneratedResult> {
    const startedAt = new Date();
    const json = job.output?.format === 'json' ? job.output : undefined;
    let answered: Answered;
    try {
      answered = await this.answer(job, this.messages(job), json, delivery, signal);
    } catch (err) {
      if (err instanceof LlmError) throw StepError.of(err);
      throw err;
    }
    const { call, result, replayed } = answered;

    let structured: unknown;
    if (json) {
      const parsed = parseJsonOutput(result.content, json);
      if (!parsed.ok) throw StepError.retryable('invalid_output', parsed.message);
      structured = parsed.value;
    }
    const cost = this.providers.catalog.cost(job.model, result.usage);
    return {
      output: result.content,
      ...(structured === undefined ? {} : { structured }),
      ...(call.plan ? { structuredOutput: call.plan.request } : {}),
      model: result.model,
      messages: call.messages,
      usage: result.usage,
      ...(cost === undefined ? {} : { cost }),
      finishReason: result.finishReason,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      request: { kind: 'model', model: job.model, params: job.params, ...(call.responseFormat ? { responseFormat: { ...call.responseFormat } } : {}) },
      ...(replayed ? { replayed } : {}),
    };
  }

  /**
   * The model's answer, and the call that got it. A JSON step whose provider refuses
   * `response_format` is asked again at once with instructions, in the same try: the refusal
   * says nothing about whether the step can succeed, so it costs no delivery.
   */
  private async answer(job: StepReady, messages: ChatMessage[], json: StepOutputSpec | undefined, delivery: number, signal: AbortSignal): Promise<Answered> {
    if (!json) return this.ask(job, { messages }, delivery, signal);
    const remembered = this.providers.responseFormatRejection(job.model);
    let call = this.jsonCall(job, json, messages, remembered === undefined ? undefined : { message: remembered, now: false });
    if (job.replay && call.responseFormat && !matchRecordedCall(job.replay, modelRequest(job, call))) {
      // The source's provider may have refused response_format: then what it recorded is the request with instructions.
      const asked = this.jsonCall(job, json, messages, { message: 'the provider refused response_format in the source run', now: true });
      if (matchRecordedCall(job.replay, modelRequest(job, asked))) call = asked;
    }
    try {
      return await this.ask(job, call, delivery, signal);
    } catch (err) {
      if (!(call.responseFormat && err instanceof LlmError && rejectsResponseFormat(err))) throw err;
      this.providers.rememberResponseFormatRejection(job.model, err.message);
      this.log.warn(
        { model: job.model, provider: this.providers.providerFor(job.model), error: err.message },
        'the provider refused response_format: this model is asked for JSON with instructions from now on',
      );
      const fallback = this.jsonCall(job, json, messages, { message: err.message, now: true });
      return this.ask(job, fallback, delivery, signal);
    }
  }

  /** The call's answer: the recording's, for a replayed job whose request the source made; else the model's. */
  private async ask(job: StepReady, call: ModelCall, delivery: number, signal: AbortSignal): Promise<Answered> {
    const recorded = recordedAnswer(job, modelRequest(job, call));
    if (recorded) return { call, result: { content: recorded.output, model: recorded.model, usage: recorded.usage, finishReason: recorded.finishReason }, replayed: true };
    return { call, result: await this.call(job, call, delivery, signal), replayed: false };
  }

  private jsonCall(job: StepReady, spec: StepOutputSpec, messages: ChatMessage[], rejection: { message: string; now: boolean } | undefined): ModelCall {
    const plan = planStructuredOutput({
      ...(spec.schema ? { schema: spec.schema } : {}),
      ...(spec.example !== undefined ? { example: spec.example } : {}),
      name: job.stepId,
      catalogLacks: this.providers.catalog.lacks(job.model, 'structured_outputs'),
      ...(rejection ? { rejection } : {}),
    });
    return { ...jsonRequest(spec, messages, plan), plan };
  }

  /** One request to the model, once the rate limits grant it; throws what the client threw. */
  private async call(job: StepReady, call: ModelCall, delivery: number, signal: AbortSignal): Promise<ChatResult> {
    await this.limiter.acquire(this.limitsFor(job, call.messages), signal);
    const progress = new ProgressReporter(this.config.EXECUTOR_PROGRESS_INTERVAL_MS, (seq, tokens, delta) =>
      this.events.progress(job, delivery, seq, tokens, delta),
    );
    try {
      // The model client records the GenAI span (a child of this step's consumer span).
      const result = await this.providers.clientFor(job.model).chat(
        {
          model: job.model,
          messages: call.messages,
          // The parameters in effect, as the planner resolved them (the step's own, else its template version's).
          ...job.params,
          ...(call.responseFormat ? { responseFormat: call.responseFormat } : {}),
        },
        // The deadline is the client's (a timeout is retryable); `signal` is cancellation (final).
        { signal, timeoutMs: job.timeoutMs ?? this.config.MODEL_TIMEOUT_MS, ...(job.stream ? { onDelta: (delta: string) => progress.add(delta) } : {}) },
      );
      await progress.close();
      return result;
    } catch (err) {
      progress.discard();
      throw err;
    }
  }

  /**
   * The conversation: the system message (personality), then the prompt, or a registry
   * template's messages rendered with the step's rendered `with` as their `inputs`; in a
   * verification loop's later rounds, the candidate being revised (as the assistant's answer)
   * and the verifier's feedback (as the user's reply).
   */
  private messages(job: StepReady): ChatMessage[] {
    try {
      const messages: ChatMessage[] = [];
      if (job.system !== undefined) messages.push({ role: 'system', content: renderPrompt(job.system, job.context) });
      if (job.template) {
        messages.push(...renderMessages(job.template.body, renderLeaves(job.template.with, job.context) as Record<string, unknown>));
      } else {
        messages.push({ role: 'user', content: renderPrompt(job.prompt ?? '', job.context) });
      }
      if (job.previousOutput !== undefined) messages.push({ role: 'assistant', content: job.previousOutput });
      if (job.feedback !== undefined) messages.push({ role: 'user', content: job.feedback });
      return messages;
    } catch (err) {
      if (err instanceof RenderError) throw StepError.final('template_error', err.message);
      throw err;
    }
  }

  /**
   * The limits this call counts against. Tokens are reserved before the call from an
   * estimate (prompt characters / 4, plus the step's max tokens), since the answer's length
   * is not known yet.
   */
  private limitsFor(job: StepReady, messages: ChatMessage[]): LimitRequest[] {
    const { provider, providerLimits, modelLimits } = this.providers.catalog.limits(job.model);
    const tokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4) + (job.params.maxTokens ?? 0);
    const out: LimitRequest[] = [];
    if (providerLimits.rpm) out.push({ key: [provider, 'rpm'], limit: providerLimits.rpm, amount: 1 });
    if (providerLimits.tpm) out.push({ key: [provider, 'tpm'], limit: providerLimits.tpm, amount: tokens });
    if (modelLimits.rpm) out.push({ key: [provider, job.model, 'rpm'], limit: modelLimits.rpm, amount: 1 });
    if (modelLimits.tpm) out.push({ key: [provider, job.model, 'tpm'], limit: modelLimits.tpm, amount: tokens });
    return out;
  }
}

/** The call exactly as it goes to the provider: what a recording is matched against and records. */
function modelRequest(job: StepReady, call: ModelCall): ModelCallRequest {
  return { kind: 'model', model: job.model, messages: call.messages, params: job.params, ...(call.responseFormat ? { responseFormat: { ...call.responseFormat } } : {}) };
}
