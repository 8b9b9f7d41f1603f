import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { answer, chunkContent, type Answer } from './answers';
import { ChatCompletionRequest, flattenMessages } from './chat-request';
import { DirectivePlanner, DirectiveSyntaxError, parseDirectives, type SimDirective } from './directives';
import { refusesResponseFormat, responseFormatRefused } from './response-format';
import {
  DEFAULT_SIMULATOR_MODELS,
  SimulatorSettingsPatch,
  type SimulatedRequest,
  type SimulatorHandle,
  type SimulatorOptions,
  type SimulatorSettings,
} from './simulator.options';

const MAX_RECORDS = 10_000;
const MAX_BODY_BYTES = 16 * 1024 * 1024;
// Fixed so that the models list is byte-for-byte deterministic.
const MODEL_CREATED = 1_735_689_600;

const now = (): number => performance.timeOrigin + performance.now();

/**
 * Starts the OpenAI-compatible simulator: deterministic answers, configurable latency, and
 * failures on demand through `[[sim ...]]` directives in the prompt (see the README).
 */
export async function startSimulator(options: SimulatorOptions = {}): Promise<SimulatorHandle> {
  const { port = 0, host = '127.0.0.1', respond, apiKey, ...settings } = options;
  const initial: SimulatorSettings = { latencyMs: 0, models: [...DEFAULT_SIMULATOR_MODELS], acceptAnyModel: true, noResponseFormat: [] };
  const sim = new LlmSimulator(initial, respond, apiKey);
  sim.configure(settings);
  sim.baseline();
  return sim.listen(port, host);
}

/** OpenAI's error body; `type`, `param`, `code` are what clients branch on. */
interface ErrorBody {
  message: string;
  type: string;
  param?: string | null;
  code?: string | null;
}

class LlmSimulator {
  private settings: SimulatorSettings;
  private records: SimulatedRequest[] = [];
  private sequence = 0;
  private readonly planner = new DirectivePlanner();
  // Aborts every pending latency wait at close, so no timer outlives the server.
  private readonly lifetime = new AbortController();
  private readonly server: Server;

  private initial: SimulatorSettings;

  constructor(
    settings: SimulatorSettings,
    private readonly respond?: SimulatorOptions['respond'],
    private readonly apiKey?: string,
  ) {
    this.initial = settings;
    this.settings = structuredClone(settings);
    this.server = createServer({ keepAlive: true }, (req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          this.sendError(res, 500, { message: `simulator failure: ${(err as Error)?.message ?? err}`, type: 'server_error' });
        } else res.destroy();
      });
    });
  }

  listen(port: number, host: string): Promise<SimulatorHandle> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const bound = (this.server.address() as AddressInfo).port;
        const hostInUrl = host.includes(':') ? `[${host}]` : host;
        resolve({
          url: `http://${hostInUrl}:${bound}/v1`,
          port: bound,
          close: () => this.close(),
          requests: () => structuredClone(this.records),
          reset: () => this.reset(true),
          configure: (patch) => this.configure(patch),
        });
      });
    });
  }

  private close(): Promise<void> {
    this.lifetime.abort();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private reset(settingsToo: boolean): void {
    this.records = [];
    this.planner.reset();
    if (settingsToo) this.settings = structuredClone(this.initial);
  }

  /** Makes the current settings the ones `reset()` restores. */
  baseline(): void {
    this.initial = structuredClone(this.settings);
  }

  configure(patch: unknown): SimulatorSettings {
    const parsed = SimulatorSettingsPatch.parse(patch);
    for (const [key, value] of Object.entries(parsed)) {
      if (value !== undefined) Object.assign(this.settings, { [key]: value });
    }
    return structuredClone(this.settings);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]): boolean => {
      if (methods.includes(method)) return true;
      res.setHeader('allow', methods.join(', '));
      this.sendError(res, 405, { message: `Method ${method} not allowed on ${path}.`, type: 'invalid_request_error', code: 'method_not_allowed' });
      return false;
    };

    if (path === '/v1/chat/completions') {
      if (allow('POST')) await this.chatCompletions(req, res);
    } else if (path.startsWith('/v1/') && !this.authorized(req, res)) {
      return;
    } else if (path === '/v1/models') {
      if (allow('GET')) this.sendJson(res, 200, { object: 'list', data: this.settings.models.map(modelObject) });
    } else if (path.startsWith('/v1/models/')) {
      if (!allow('GET')) return;
      const id = decodeURIComponent(path.slice('/v1/models/'.length));
      if (this.settings.models.includes(id) || this.settings.acceptAnyModel) this.sendJson(res, 200, modelObject(id));
      else this.sendError(res, 404, modelNotFound(id));
    } else if (path === '/_sim/requests') {
      if (!allow('GET', 'DELETE')) return;
      if (method === 'DELETE') {
        this.reset(false);
        res.writeHead(204).end();
      } else this.sendJson(res, 200, { object: 'list', data: this.records });
    } else if (path === '/_sim/config') {
      if (!allow('GET', 'POST')) return;
      if (method === 'GET') return this.sendJson(res, 200, this.settings);
      const body = await this.readJson(req, res);
      if (body === undefined) return;
      const parsed = SimulatorSettingsPatch.safeParse(body);
      if (!parsed.success) return this.sendError(res, 400, invalidRequest(parsed.error.issues));
      this.sendJson(res, 200, this.configure(parsed.data));
    } else if (path === '/_sim/reset') {
      if (!allow('POST')) return;
      this.reset(true);
      res.writeHead(204).end();
    } else if (path === '/healthz') {
      if (allow('GET', 'HEAD')) this.sendJson(res, 200, { status: 'ok' });
    } else {
      this.sendError(res, 404, { message: `Unknown request URL: ${method} ${path}.`, type: 'invalid_request_error', code: 'unknown_url' });
    }
  }

  private async chatCompletions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: SimulatedRequest = {
      id: `chatcmpl-sim${String(++this.sequence).padStart(8, '0')}`,
      receivedAt: now(),
      respondedAt: null,
      model: null,
      messages: [],
      stream: false,
      responseFormat: null,
      parameters: {},
      status: null,
      directives: [],
    };
    this.record(record);
    res.setHeader('x-request-id', record.id);
    // The client may leave before the answer (abort, timeout): stop waiting for it.
    const gone = new AbortController();
    res.on('close', () => {
      gone.abort();
      if (res.writableFinished) record.status = res.statusCode;
      record.respondedAt ??= now();
    });
    // A provider checks the key first, whatever the body (the record shows the refusal).
    if (!this.authorized(req, res)) return;
    const signal = AbortSignal.any([gone.signal, this.lifetime.signal]);
    let latencyMs = this.settings.latencyMs;
    const replyError = async (status: number, body: ErrorBody, headers: Record<string, string> = {}) => {
      if (await wait(latencyMs, signal)) this.sendError(res, status, body, headers);
    };

    const raw = await this.readJson(req, res);
    if (raw === undefined) return;
    const parsed = ChatCompletionRequest.safeParse(raw);
    if (!parsed.success) return replyError(400, invalidRequest(parsed.error.issues));
    const request = parsed.data;
    const messages = flattenMessages(request);
    Object.assign(record, {
      model: request.model,
      messages,
      stream: request.stream === true,
      responseFormat: request.response_format ?? null,
      parameters: samplingParameters(raw),
    });

    let directives: SimDirective[];
    try {
      directives = messages.flatMap((m) => parseDirectives(m.content));
    } catch (err) {
      if (!(err instanceof DirectiveSyntaxError)) throw err;
      return replyError(400, { message: err.message, type: 'invalid_request_error', param: 'messages', code: 'invalid_sim_directive' });
    }
    record.directives = directives;
    if (!this.settings.acceptAnyModel && !this.settings.models.includes(request.model)) {
      return replyError(404, modelNotFound(request.model));
    }
    if (refusesResponseFormat(this.settings.noResponseFormat, request)) return replyError(400, responseFormatRefused(request));
    // Counted only for requests that get this far: `times` counts attempts at a real answer.
    const plan = this.planner.plan(directives);
    latencyMs = plan.latencyMs ?? latencyMs;
    if (plan.failure?.drop) {
      if (await wait(latencyMs, signal)) {
        record.respondedAt = now();
        req.socket.destroy();
      }
      return;
    }
    if (plan.failure?.status !== undefined) {
      const headers: Record<string, string> = {};
      if (plan.failure.retryAfter !== undefined) headers['retry-after'] = String(plan.failure.retryAfter);
      if (plan.failure.retryAfterMs !== undefined) headers['retry-after-ms'] = String(plan.failure.retryAfterMs);
      return replyError(plan.failure.status, simulatedFailure(plan.failure.status, plan.failure.directive.text), headers);
    }

    const content = plan.content ?? this.respond?.({ model: request.model, messages: structuredClone(messages), responseFormat: request.response_format ?? null, parameters: structuredClone(record.parameters) });
    const result = answer(request, messages, content);
    const base = { id: record.id, created: Math.floor(Date.now() / 1000), model: request.model, system_fingerprint: 'fp_trellis_sim' };
    if (request.stream) {
      await this.stream(res, base, result, request.stream_options?.include_usage === true, latencyMs, signal);
    } else if (await wait(latencyMs, signal)) {
      this.sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: result.content, refusal: null, annotations: [] },
            logprobs: null,
            finish_reason: result.finishReason,
          },
        ],
        usage: usageOf(result),
        service_tier: 'default',
      });
    }
  }

  private async stream(
    res: ServerResponse,
    base: Record<string, unknown>,
    result: Answer,
    includeUsage: boolean,
    latencyMs: number,
    signal: AbortSignal,
  ): Promise<void> {
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices,
      ...(includeUsage ? { usage: null } : {}),
      ...extra,
    });
    const delta = (d: Record<string, unknown>, finishReason: string | null = null) => ({ index: 0, delta: d, logprobs: null, finish_reason: finishReason });
    const events: unknown[] = [
      chunk([delta({ role: 'assistant', content: '', refusal: null })]),
      ...chunkContent(result.content).map((piece) => chunk([delta({ content: piece })])),
      chunk([delta({}, result.finishReason)]),
    ];
    if (includeUsage) events.push(chunk([], { usage: usageOf(result) }));

    // Headers go out at once, as a real provider's do; the latency is spread over the events.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.flushHeaders();
    const perEvent = latencyMs / events.length;
    for (const event of events) {
      if (!(await wait(perEvent, signal)) || res.destroyed) return;
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    }
    res.end('data: [DONE]\n\n');
  }

  /**
   * With a required key, answers a request that does not carry it with OpenAI's 401 (its
   * body left unread) and says false.
   */
  private authorized(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.apiKey === undefined) return true;
    const sent = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim();
    if (sent === this.apiKey) return true;
    req.resume();
    this.sendError(res, 401, invalidApiKey(sent));
    return false;
  }

  private record(entry: SimulatedRequest): void {
    this.records.push(entry);
    if (this.records.length > MAX_RECORDS) this.records.splice(0, this.records.length - MAX_RECORDS);
  }

  /** Reads a JSON body; answers the error itself and returns undefined when it cannot. */
  private async readJson(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.setHeader('connection', 'close');
        this.sendError(res, 413, { message: `Request body exceeds ${MAX_BODY_BYTES} bytes.`, type: 'invalid_request_error', code: 'request_too_large' });
        return undefined;
      }
      chunks.push(chunk);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      this.sendError(res, 400, {
        message: 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly.)',
        type: 'invalid_request_error',
      });
      return undefined;
    }
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  private sendError(res: ServerResponse, status: number, error: ErrorBody, headers: Record<string, string> = {}): void {
    this.sendJson(res, status, { error: { param: null, code: null, ...error } }, headers);
  }
}

const SAMPLING = ['temperature', 'top_p', 'max_completion_tokens', 'max_tokens', 'presence_penalty', 'frequency_penalty', 'stop', 'seed'] as const;

/** The sampling parameters of a request body, as sent (a test checks what a caller asked for). */
function samplingParameters(body: unknown): Record<string, unknown> {
  const fields = body as Record<string, unknown>;
  return Object.fromEntries(SAMPLING.filter((k) => fields[k] !== undefined && fields[k] !== null).map((k) => [k, fields[k]]));
}

/** Waits `ms` unless `signal` fires first; true when the wait completed. */
async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (ms <= 0) return true;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function modelObject(id: string) {
  return { id, object: 'model', created: MODEL_CREATED, owned_by: 'trellis-simulator' };
}

function modelNotFound(model: string): ErrorBody {
  return {
    message: `The model \`${model}\` does not exist or you do not have access to it.`,
    type: 'invalid_request_error',
    code: 'model_not_found',
  };
}

/** OpenAI's answer to a missing or wrong key (the key shown masked, as OpenAI does). */
function invalidApiKey(sent: string | undefined): ErrorBody {
  const message =
    sent === undefined
      ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
      : `Incorrect API key provided: ${sent.length > 8 ? `${sent.slice(0, 3)}***${sent.slice(-4)}` : '***'}. You can find your API key at https://platform.openai.com/account/api-keys.`;
  return { message, type: 'invalid_request_error', code: 'invalid_api_key' };
}

function invalidRequest(issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>): ErrorBody {
  const first = issues[0];
  const param = first?.path.length ? formatPath(first.path) : null;
  return {
    message: issues.map((i) => (i.path.length ? `${formatPath(i.path)}: ${i.message}` : i.message)).join('; ') || 'Invalid request.',
    type: 'invalid_request_error',
    param,
  };
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

/** Bodies shaped like the ones OpenAI sends for each status, so clients parse them as usual. */
function simulatedFailure(status: number, directive: string): ErrorBody {
  const why = `(simulated by ${directive})`;
  switch (status) {
    case 429:
      return { message: `Rate limit reached ${why}.`, type: 'requests', code: 'rate_limit_exceeded' };
    case 500:
      return { message: `The server had an error while processing your request ${why}.`, type: 'server_error' };
    case 503:
      return { message: `The engine is currently overloaded, please try again later ${why}.`, type: 'server_error' };
    case 401:
      return { message: `Incorrect API key provided ${why}.`, type: 'invalid_request_error', code: 'invalid_api_key' };
    default:
      return { message: `Simulated HTTP ${status} ${why}.`, type: status >= 500 ? 'server_error' : 'invalid_request_error' };
  }
}

function usageOf(result: Answer) {
  return {
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    total_tokens: result.promptTokens + result.completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}
