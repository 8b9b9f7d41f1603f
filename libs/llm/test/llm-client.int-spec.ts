import { LlmClient, LlmError, ModelCatalog, ProviderRegistry, parseProvidersFile, rejectsResponseFormat, startSimulator, type SimulatorHandle } from '@trellis/llm';
import { eventually } from './helpers';

// LlmClient and its error taxonomy against the simulator over real HTTP.
describe('LlmClient', () => {
  let sim: SimulatorHandle;
  let sut: LlmClient;

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: 'sim-key' });
    sut = new LlmClient({ baseURL: sim.url, apiKey: 'sim-key' });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const ask = (content: string, client = sut) => client.chat({ model: 'gpt-4.1', messages: [{ role: 'user', content }] });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: unknown) => {
        expect(err).toBeInstanceOf(LlmError);
        return err as LlmError;
      },
    );

  it('returns content, model, usage and finish reason, sending the request parameters', async () => {
    const result = await sut.chat({
      model: 'gpt-4.1-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
      temperature: 0.2,
      maxTokens: 500,
      topP: 0.9,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      stop: ['END'],
      seed: 42,
    });
    expect(result).toEqual({
      content: expect.stringMatching(/^Simulated reply from gpt-4\.1-mini to: "Hello there" \[[0-9a-f]{8}\]$/),
      model: 'gpt-4.1-mini',
      usage: { inputTokens: Math.ceil('Be brief.Hello there'.length / 4), outputTokens: Math.ceil(result.content.length / 4) },
      finishReason: 'stop',
    });
    expect(sim.requests()).toHaveLength(1);
    expect(sim.requests()[0]!.parameters).toEqual({ temperature: 0.2, max_completion_tokens: 500, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: -0.5, stop: ['END'], seed: 42 });
  });

  it('sends a json_schema response format and gets JSON valid against it', async () => {
    const schema = {
      type: 'object',
      properties: {
        score: { type: 'number', minimum: 0, maximum: 1 },
        violations: { type: 'array', items: { type: 'object', properties: { severity: { enum: ['critical', 'major', 'minor'] } }, required: ['severity'] } },
      },
      required: ['score', 'violations'],
      additionalProperties: false,
    };
    const result = await sut.chat({
      model: 'sim-judge',
      messages: [{ role: 'user', content: 'Judge' }],
      responseFormat: { type: 'json_schema', name: 'verdict', schema, strict: true },
    });
    expect(JSON.parse(result.content)).toEqual({ score: 1, violations: [{ severity: 'critical' }] });
    expect(sim.requests()[0]?.responseFormat).toEqual({ type: 'json_schema', json_schema: { name: 'verdict', schema, strict: true } });
  });

  it('sends JSON mode as json_object', async () => {
    const result = await sut.chat({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Answer in JSON' }], responseFormat: { type: 'json_object' } });
    expect(JSON.parse(result.content)).toMatchObject({ simulated: true });
    expect(sim.requests()[0]?.responseFormat).toEqual({ type: 'json_object' });
  });

  it("tells a provider's refusal of response_format from any other 400", async () => {
    sim.configure({ noResponseFormat: ['plain-model'] });
    const refused = await failure(
      sut.chat({ model: 'plain-model', messages: [{ role: 'user', content: 'x' }], responseFormat: { type: 'json_schema', name: 'n', schema: { type: 'object' } } }),
    );
    expect(refused).toMatchObject({ status: 400, code: 'bad_request', retryable: false });
    expect(rejectsResponseFormat(refused)).toBe(true);
    expect(rejectsResponseFormat(await failure(ask('[[sim status=400]]')))).toBe(false);
  });

  it('classifies a 429 as retryable and honours Retry-After', async () => {
    const error = await failure(ask('[[sim status=429 retry_after=2]]'));
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', retryable: true, retryAfterMs: 2000, providerCode: 'rate_limit_exceeded' });
    expect(error.requestId).toMatch(/^chatcmpl-sim/);
  });

  it('prefers retry-after-ms when the provider sends it', async () => {
    const error = await failure(ask('[[sim status=503 retry_after=9 retry_after_ms=250]]'));
    expect(error).toMatchObject({ code: 'provider_unavailable', retryable: true, retryAfterMs: 250 });
  });

  it('classifies a 400 as final', async () => {
    const error = await failure(ask('[[sim status=400]]'));
    expect(error).toMatchObject({ status: 400, code: 'bad_request', retryable: false });
    expect(error.retryAfterMs).toBeUndefined();
  });

  it("classifies the provider's refusal of a wrong key as final unauthorized", async () => {
    const error = await failure(ask('hi', new LlmClient({ baseURL: sim.url, apiKey: 'sk-not-the-key' })));
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', retryable: false, providerCode: 'invalid_api_key' });
  });

  it('classifies an unknown model as final not_found', async () => {
    sim.configure({ acceptAnyModel: false });
    const error = await failure(sut.chat({ model: 'gpt-9', messages: [{ role: 'user', content: 'x' }] }));
    expect(error).toMatchObject({ status: 404, code: 'not_found', retryable: false, providerCode: 'model_not_found' });
  });

  it('makes exactly one attempt per call: a times=1 failure surfaces, and the next call succeeds', async () => {
    const prompt = 'Write a limerick [[sim status=500 times=1]]';
    await expect(failure(ask(prompt))).resolves.toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect(sim.requests()).toHaveLength(1); // the SDK did not retry behind our back
    await expect(ask(prompt)).resolves.toMatchObject({ finishReason: 'stop' });
    expect(sim.requests().map((r) => r.status)).toEqual([500, 200]);
  });

  it('classifies a dropped connection as a retryable connection error', async () => {
    const error = await failure(ask('[[sim drop=1 times=1]]'));
    expect(error).toMatchObject({ code: 'connection', retryable: true });
    expect(error.status).toBeUndefined();
    expect(sim.requests()[0]).toMatchObject({ status: null, respondedAt: expect.any(Number) });
    // The pool recovers: the same client works on the next call.
    await expect(ask('[[sim drop=1 times=1]]')).resolves.toMatchObject({ finishReason: 'stop' });
  });

  it('classifies a refused connection as retryable', async () => {
    const gone = await startSimulator();
    await gone.close();
    const error = await failure(ask('hi', new LlmClient({ baseURL: gone.url, apiKey: 'k' })));
    expect(error).toMatchObject({ code: 'connection', retryable: true });
  });

  it('classifies its own timeout as retryable', async () => {
    const impatient = new LlmClient({ baseURL: sim.url, apiKey: 'sim-key', timeoutMs: 100 });
    const error = await failure(ask('[[sim latency_ms=5000]]', impatient));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });

  it("classifies the caller's abort as final 'aborted', and the simulator sees the client leave", async () => {
    const controller = new AbortController();
    const call = failure(sut.chat({ model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim latency_ms=5000]]' }] }, { signal: controller.signal }));
    await eventually(() => sim.requests().length === 1);
    controller.abort();
    await expect(call).resolves.toMatchObject({ code: 'aborted', retryable: false });
    await eventually(() => sim.requests()[0]?.respondedAt !== null);
    expect(sim.requests()[0]?.status).toBeNull();
  });

  it('streams the answer through onDelta and reports the same content and usage as a whole call', async () => {
    const deltas: string[] = [];
    const streamed = await sut.chat({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'Tell me more' }] }, { onDelta: (d) => deltas.push(d) });
    const whole = await ask('Tell me more');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(streamed.content);
    expect(streamed).toEqual(whole);
    expect(sim.requests()[0]!.stream).toBe(true);
  });

  it('times out a stream by its per-call deadline, as retryable', async () => {
    const error = await failure(sut.chat({ model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim latency_ms=5000]]' }] }, { onDelta: () => undefined, timeoutMs: 200 }));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
  });

  it("classifies an already-aborted signal as 'aborted' without calling the provider", async () => {
    const error = await failure(sut.chat({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }, { signal: AbortSignal.abort() }));
    expect(error).toMatchObject({ code: 'aborted', retryable: false });
    expect(sim.requests()).toHaveLength(0);
  });
});

describe('ProviderRegistry', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({ apiKey: 'sim-key' });
  });
  afterAll(() => sim.close());

  it('sends every model to the default provider through one shared client', async () => {
    const sut = new ProviderRegistry({ defaultProvider: { baseURL: sim.url, apiKey: 'sim-key' } });
    const client = sut.clientFor('gpt-4.1');
    expect(sut.clientFor('claude-sonnet-4')).toBe(client);
    await expect(client.chat({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] })).resolves.toMatchObject({
      model: 'claude-sonnet-4',
    });
  });

  it('sends a catalogued model to its provider and any other to the default one', async () => {
    const other = await startSimulator({ apiKey: 'other-key' });
    try {
      const catalog = new ModelCatalog(parseProvidersFile(`version: 1\nproviders:\n  other: { base_url: "${other.url}" }\nmodels:\n  special: { provider: other, price: { input: 1, output: 1 }, context_window: 1000 }\n`));
      // Each provider gets its own key: either simulator refuses the other's.
      const sut = new ProviderRegistry({ defaultProvider: { baseURL: sim.url, apiKey: 'sim-key' }, providers: { other: { baseURL: other.url, apiKey: 'other-key' } }, catalog });
      expect(sut.clientFor('special').provider).toBe('other');
      await sut.clientFor('special').chat({ model: 'special', messages: [{ role: 'user', content: 'hi' }] });
      await sut.clientFor('plain').chat({ model: 'plain', messages: [{ role: 'user', content: 'hi' }] });
      expect(other.requests().map((r) => r.model)).toEqual(['special']);
      expect(sim.requests().map((r) => r.model)).toContain('plain');
    } finally {
      await other.close();
    }
  });

  it('remembers a refusal of response_format for the model it was about, and no other', () => {
    const catalog = new ModelCatalog(parseProvidersFile(`version: 1\nproviders:\n  other: { base_url: "${sim.url}" }\nmodels:\n  special: { provider: other, price: { input: 1, output: 1 }, context_window: 1000 }\n`));
    const sut = new ProviderRegistry({ defaultProvider: { baseURL: sim.url, apiKey: 'k' }, providers: { other: { baseURL: sim.url, apiKey: 'k' } }, catalog });
    sut.rememberResponseFormatRejection('special', 'no response_format here');
    expect(sut.responseFormatRejection('special')).toBe('no response_format here');
    expect(sut.responseFormatRejection('plain')).toBeUndefined();
    // A registry of its own (another executor process) knows nothing of it.
    expect(new ProviderRegistry({ defaultProvider: { baseURL: sim.url, apiKey: 'k' }, catalog }).responseFormatRejection('special')).toBeUndefined();
  });

  it('rejects a bad provider configuration when built, not on the first call', () => {
    expect(() => new ProviderRegistry({ defaultProvider: { baseURL: sim.url, apiKey: '' } })).toThrow(/apiKey is empty/);
    expect(() => new ProviderRegistry({ defaultProvider: { baseURL: 'localhost:4010', apiKey: 'k' } })).toThrow(/not an http\(s\) URL/);
  });
});
