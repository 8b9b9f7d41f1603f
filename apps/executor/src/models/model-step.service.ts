import { Inject, Injectable } from '@nestjs/common';
import type { ChatMessage, StepReady } from '@trellis/contracts';
import { renderPrompt, RenderError } from '@trellis/engine';
import { LlmError, ProviderRegistry } from '@trellis/llm';
import { EXECUTOR_CONFIG, type ExecutorConfig } from '../config';
import { RateLimiter, type LimitRequest } from '../rate-limits/rate-limiter.service';
import { ProgressReporter } from '../steps/progress-reporter';
import { StepError } from '../steps/step.errors';
import { StepEvents, type GeneratedResult } from '../steps/step-events.publisher';
import { renderLeaves } from '../steps/render-leaves';
import { jsonRequest, parseJsonOutput } from './structured-output';

/**
 * One try of a model step: render the messages, wait for the provider's and the model's
 * rate limits, stream the answer (publishing throttled progress), check a JSON answer
 * against the step's schema, and price the call from the catalog. Every failure is a
 * {@link StepError}; the step runner decides what it means for the attempt.
 */
@Injectable()
export class ModelStepService {
  constructor(
    @Inject(EXECUTOR_CONFIG) private readonly config: ExecutorConfig,
    private readonly providers: ProviderRegistry,
    private readonly limiter: RateLimiter,
    private readonly events: StepEvents,
  ) {}

  async run(job: StepReady, delivery: number, signal: AbortSignal): Promise<GeneratedResult> {
    const startedAt = new Date();
    const catalog = this.providers.catalog;
    let messages = this.messages(job);
    const json = job.output?.format === 'json' ? job.output : undefined;
    const request = json ? jsonRequest(json, job.stepId, messages, catalog.supports(job.model, 'structured_outputs')) : { messages };
    messages = request.messages;

    await this.limiter.acquire(this.limitsFor(job, messages), signal);

    const progress = new ProgressReporter(this.config.EXECUTOR_PROGRESS_INTERVAL_MS, (seq, tokens, delta) =>
      this.events.progress(job, delivery, seq, tokens, delta),
    );
    let result;
    try {
      // The model client records the GenAI span (a child of this step's consumer span).
      result = await this.providers.clientFor(job.model).chat(
        {
          model: job.model,
          messages,
          ...(job.params.temperature !== undefined ? { temperature: job.params.temperature } : {}),
          ...(job.params.maxTokens !== undefined ? { maxTokens: job.params.maxTokens } : {}),
          ...(request.responseFormat ? { responseFormat: request.responseFormat } : {}),
        },
        // The deadline is the client's (a timeout is retryable); `signal` is cancellation (final).
        { signal, timeoutMs: job.timeoutMs ?? this.config.MODEL_TIMEOUT_MS, ...(job.stream ? { onDelta: (delta: string) => progress.add(delta) } : {}) },
      );
      await progress.close();
    } catch (err) {
      progress.discard();
      if (err instanceof LlmError) {
        const info = err.toFailureInfo();
        throw new StepError(info, err.retryable ? err.retryAfterMs : undefined);
      }
      throw err;
    }

    let structured: unknown;
    if (json) {
      const parsed = parseJsonOutput(result.content, json);
      if (!parsed.ok) throw StepError.retryable('invalid_output', parsed.message);
      structured = parsed.value;
    }
    const cost = catalog.cost(job.model, result.usage);
    return {
      output: result.content,
      ...(structured === undefined ? {} : { structured }),
      model: result.model,
      messages,
      usage: result.usage,
      ...(cost === undefined ? {} : { cost }),
      finishReason: result.finishReason,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    };
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
        const scope = { inputs: renderLeaves(job.template.with, job.context) as Record<string, unknown>, steps: {} };
        const body = typeof job.template.body === 'string' ? [{ role: 'user' as const, content: job.template.body }] : job.template.body;
        for (const m of body) messages.push({ role: m.role, content: renderPrompt(m.content, scope) });
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
