import type { ChatMessage, TokenUsage } from '@trellis/contracts';
import { logger, SpanKind, withSpan } from '@trellis/telemetry';
import OpenAI, { APIError } from 'openai';
import { LlmError, toLlmError } from './llm.errors';
import { llmMetrics } from './llm-metrics';
import { providerFetch } from './provider-fetch';

/** How to reach one OpenAI-compatible endpoint. */
export interface LlmClientOptions {
  /** The provider's name, recorded as `gen_ai.provider.name`. Default `default`. */
  name?: string;
  /** Base URL including the version path, e.g. `https://api.openai.com/v1`. */
  baseURL: string;
  /** Sent as a bearer token. Endpoints that need none (Ollama, the simulator) take any placeholder. */
  apiKey: string;
  /** Per call, for the whole answer. Default 300,000 (five minutes). */
  timeoutMs?: number;
  defaultHeaders?: Record<string, string>;
  /**
   * Record prompts and answers on the span (`gen_ai.input.messages`, `gen_ai.output.messages`).
   * Off by default: they may hold personal or secret data.
   */
  recordContent?: boolean;
}

/** Structured output: the model must answer JSON valid against `schema`. */
export interface JsonSchemaResponseFormat {
  type: 'json_schema';
  /** a-z, A-Z, 0-9, `_` and `-`, at most 64 characters (OpenAI's rule). */
  name: string;
  schema: Record<string, unknown>;
  /**
   * OpenAI's strict mode (every property required, `additionalProperties: false`). Sent only
   * when set, because strict rejects schemas that merely valid JSON Schema accepts.
   */
  strict?: boolean;
}

/** JSON mode: the model must answer a JSON object (OpenAI also wants the word "JSON" in the messages). */
export interface JsonObjectResponseFormat {
  type: 'json_object';
}

/** The provider's structured-output mode, sent as `response_format`. */
export type ResponseFormat = JsonSchemaResponseFormat | JsonObjectResponseFormat;

/** One chat completion request, provider-neutral. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  /** Upper bound on generated tokens (sent as `max_completion_tokens`). */
  maxTokens?: number;
  topP?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  stop?: string[];
  seed?: number;
  responseFormat?: ResponseFormat;
}

/** Per-call options. */
export interface ChatOptions {
  /** Aborts the call; the error is then an {@link LlmError} with code `aborted`. */
  signal?: AbortSignal;
  /**
   * Streams the answer and calls this with each piece of content as it arrives (the call
   * still resolves with the whole answer). Usage is asked for in the last chunk.
   */
  onDelta?: (delta: string) => void;
  /** This call's deadline instead of the client's `timeoutMs` (a step's own timeout). */
  timeoutMs?: number;
}

/** A completed chat call. */
export interface ChatResult {
  content: string;
  /** The model the provider says answered (may be more specific than the one asked for). */
  model: string;
  /** Zero when the provider reports no usage (some OpenAI-compatible servers do not). */
  usage: TokenUsage;
  /** `stop`, `length`, `content_filter`, … as the provider reports it. */
  finishReason: string | null;
}

const DEFAULT_TIMEOUT_MS = 300_000;

/** Our deadline as the signal; the SDK's own timeout only as a backstop just after it. */
interface SdkCallOptions {
  signal: AbortSignal;
  timeout: number;
}

/**
 * Calls one OpenAI-compatible endpoint through the official SDK, with one SDK instance (and so
 * one connection pool) per endpoint. Every failure is an {@link LlmError}.
 *
 * The SDK's own retries are off: retries belong to the messaging layer (nak with backoff), and
 * two retry loops would multiply each other and hide failures from the run's history.
 */
export class LlmClient {
  private readonly sdk: OpenAI;
  private readonly host: string;
  private readonly timeoutMs: number;
  /** The provider's name, for spans and metrics. */
  readonly provider: string;
  private readonly recordContent: boolean;

  /** Throws at once on an empty `apiKey` or a malformed `baseURL`: a configuration error, not a call failure. */
  constructor(options: LlmClientOptions) {
    if (!options.apiKey) throw new Error('LlmClient: apiKey is empty (an endpoint without auth takes any placeholder)');
    if (!/^https?:$/.test(URL.parse(options.baseURL)?.protocol ?? '')) {
      throw new Error(`LlmClient: baseURL "${options.baseURL}" is not an http(s) URL`);
    }
    const log = logger('llm');
    this.host = safeHost(options.baseURL);
    this.provider = options.name ?? 'default';
    this.recordContent = options.recordContent ?? false;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.sdk = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey,
      fetch: providerFetch,
      maxRetries: 0,
      // Our own deadline (see chat) fires first; the SDK's is only a backstop.
      timeout: this.timeoutMs + 1_000,
      ...(options.defaultHeaders ? { defaultHeaders: options.defaultHeaders } : {}),
      // Explicit values, so the SDK does not read OPENAI_ORG_ID, OPENAI_PROJECT_ID or OPENAI_LOG
      // behind the apps' config (STYLE: nothing but config.ts reads the environment).
      organization: null,
      project: null,
      adminAPIKey: null,
      webhookSecret: null,
      logLevel: 'warn',
      logger: {
        error: (message, ...rest) => log.error({ details: rest }, message),
        warn: (message, ...rest) => log.warn({ details: rest }, message),
        info: (message, ...rest) => log.info({ details: rest }, message),
        debug: (message, ...rest) => log.debug({ details: rest }, message),
      },
    });
  }

  /** Sends one chat completion (streamed when `onDelta` is given) and returns its first choice. */
  chat(request: ChatRequest, options: ChatOptions = {}): Promise<ChatResult> {
    const { signal } = options;
    // The deadline is ours rather than the SDK's: which signal fired tells a timeout from the
    // caller's abort without relying on how the SDK and fetch word their errors.
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const call = callSignal(signal, timeoutMs);
    const startedAt = performance.now();
    const metricAttributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': this.provider, 'gen_ai.request.model': request.model };
    return withSpan(
      `chat ${request.model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { ...metricAttributes, 'server.address': this.host },
      },
      async (span) => {
        if (this.recordContent) span.setAttribute('gen_ai.input.messages', JSON.stringify(request.messages));
        let result: ChatResult;
        try {
          const sdkOptions = { signal: call.signal, timeout: timeoutMs + 1_000 };
          result = options.onDelta ? await this.streamed(request, sdkOptions, options.onDelta) : await this.whole(request, sdkOptions);
        } catch (err) {
          // An HTTP answer that raced the deadline is still that answer.
          const timedOut = call.timedOut && !signal?.aborted && !(err instanceof APIError && err.status !== undefined);
          const error = err instanceof LlmError
            ? err
            : timedOut
              ? new LlmError(`model call timed out after ${timeoutMs} ms`, { code: 'timeout', retryable: true, cause: err })
              : toLlmError(err, signal);
          span.setAttribute('error.type', error.code);
          llmMetrics().duration.record((performance.now() - startedAt) / 1000, { ...metricAttributes, 'error.type': error.code });
          throw error;
        }
        span.setAttributes({
          'gen_ai.response.model': result.model,
          'gen_ai.usage.input_tokens': result.usage.inputTokens,
          'gen_ai.usage.output_tokens': result.usage.outputTokens,
          ...(result.finishReason ? { 'gen_ai.response.finish_reasons': [result.finishReason] } : {}),
          ...(this.recordContent ? { 'gen_ai.output.messages': JSON.stringify([{ role: 'assistant', content: result.content, finish_reason: result.finishReason }]) } : {}),
        });
        const attrs = { ...metricAttributes, 'gen_ai.response.model': result.model };
        const { duration, tokens } = llmMetrics();
        duration.record((performance.now() - startedAt) / 1000, attrs);
        tokens.add(result.usage.inputTokens, { ...attrs, 'gen_ai.token.type': 'input' });
        tokens.add(result.usage.outputTokens, { ...attrs, 'gen_ai.token.type': 'output' });
        return result;
      },
    ).finally(() => call.dispose());
  }

  private body(request: ChatRequest) {
    return {
      model: request.model,
      messages: request.messages,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.maxTokens === undefined ? {} : { max_completion_tokens: request.maxTokens }),
      ...(request.topP === undefined ? {} : { top_p: request.topP }),
      ...(request.presencePenalty === undefined ? {} : { presence_penalty: request.presencePenalty }),
      ...(request.frequencyPenalty === undefined ? {} : { frequency_penalty: request.frequencyPenalty }),
      ...(request.stop === undefined ? {} : { stop: request.stop }),
      ...(request.seed === undefined ? {} : { seed: request.seed }),
      ...(request.responseFormat ? { response_format: toResponseFormat(request.responseFormat) } : {}),
    };
  }

  private async whole(request: ChatRequest, sdkOptions: SdkCallOptions): Promise<ChatResult> {
    const completion = await this.sdk.chat.completions.create(this.body(request), sdkOptions);
    const choice = completion.choices[0];
    if (!choice) {
      throw new LlmError('model provider answered without a choice', { code: 'invalid_response', retryable: true });
    }
    return {
      content: choice.message.content ?? '',
      model: completion.model,
      usage: {
        inputTokens: completion.usage?.prompt_tokens ?? 0,
        outputTokens: completion.usage?.completion_tokens ?? 0,
      },
      finishReason: choice.finish_reason ?? null,
    };
  }

  private async streamed(request: ChatRequest, sdkOptions: SdkCallOptions, onDelta: (delta: string) => void): Promise<ChatResult> {
    const stream = await this.sdk.chat.completions.create({ ...this.body(request), stream: true, stream_options: { include_usage: true } }, sdkOptions);
    let content = '';
    let model = request.model;
    let finishReason: string | null = null;
    let sawChoice = false;
    let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    for await (const chunk of stream) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens ?? 0, outputTokens: chunk.usage.completion_tokens ?? 0 };
      const choice = chunk.choices[0];
      if (!choice) continue;
      sawChoice = true;
      const delta = choice.delta?.content;
      if (delta) {
        content += delta;
        onDelta(delta);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
    // The SDK ends a stream quietly when its signal aborts: that is a timeout or an abort, not an answer.
    sdkOptions.signal.throwIfAborted();
    if (!sawChoice) throw new LlmError('model provider streamed no choice', { code: 'invalid_response', retryable: true });
    return { content, model, usage, finishReason };
  }
}

function toResponseFormat(format: ResponseFormat): OpenAI.ResponseFormatJSONSchema | OpenAI.ResponseFormatJSONObject {
  if (format.type === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name,
      schema: format.schema,
      ...(format.strict === undefined ? {} : { strict: format.strict }),
    },
  };
}

function safeHost(baseURL: string): string {
  return new URL(baseURL).host;
}

/**
 * The caller's signal and the call's deadline as one signal: one controller, a timer and a
 * listener, released by `dispose`. `AbortSignal.timeout` and `AbortSignal.any` would do the same
 * with weak references the garbage collector traces and a composite whose `aborted` is
 * recomputed on every read: 5% of the executor's CPU per step (bench/README.md, row 27).
 * `timedOut` says which of the two fired.
 */
function callSignal(caller: AbortSignal | undefined, timeoutMs: number): { signal: AbortSignal; readonly timedOut: boolean; dispose(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const follow = () => controller.abort(caller!.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`the call took longer than ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  if (caller?.aborted) follow();
  else caller?.addEventListener('abort', follow, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', follow);
    },
  };
}
