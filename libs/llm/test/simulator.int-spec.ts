import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { startSimulator, type SimulatedRequest, type SimulatorHandle } from '@trellis/llm';
import { eventually, readSse } from './helpers';

// The simulator over real HTTP, driven by the official SDK where a client would use it and by
// raw fetch where the wire format itself is the behaviour under test.
describe('LLM simulator', () => {
  let sim: SimulatorHandle;
  let openai: OpenAI;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0 });
    openai = new OpenAI({ baseURL: sim.url, apiKey: 'sim', maxRetries: 0 });
  });
  afterAll(() => sim.close());
  beforeEach(() => sim.reset());

  const post = (path: string, body: unknown) =>
    fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const admin = (path: string, init?: RequestInit) => fetch(`${sim.url.replace(/\/v1$/, '')}${path}`, init);

  it('listens on an ephemeral port and gives a base URL ending in /v1', () => {
    expect(sim.port).toBeGreaterThan(0);
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}/v1`);
  });

  describe('chat completions', () => {
    it('answers deterministically, quoting the last user message, with usage estimated from characters', async () => {
      const messages = [
        { role: 'system' as const, content: 'You are terse.' },
        { role: 'user' as const, content: 'Name three colours.' },
      ];
      const first = await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages });
      const second = await openai.chat.completions.create({ model: 'gpt-4.1-mini', messages, temperature: 1.7, top_p: 0.1 });

      expect(first.object).toBe('chat.completion');
      expect(first.model).toBe('gpt-4.1-mini');
      const content = first.choices[0]?.message.content;
      expect(content).toMatch(/^Simulated reply from gpt-4\.1-mini to: "Name three colours\." \[[0-9a-f]{8}\]$/);
      expect(second.choices[0]?.message.content).toBe(content);
      expect(first.choices[0]?.finish_reason).toBe('stop');
      expect(first.usage).toMatchObject({
        prompt_tokens: Math.ceil('You are terse.Name three colours.'.length / 4),
        completion_tokens: Math.ceil(content!.length / 4),
      });
      expect(first.id).not.toBe(second.id);
    });

    it('streams: role first, content in several chunks, finish_reason on the last choice chunk, usage, then [DONE]', async () => {
      const response = await post('/chat/completions', {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Stream me a sentence.' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = await readSse(response);

      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
      expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
      const withChoice = chunks.filter((c) => c.choices.length > 0);
      const usageChunk = chunks.at(-1);
      expect(usageChunk.choices).toEqual([]);
      expect(usageChunk.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) });

      expect(withChoice[0].choices[0].delta.role).toBe('assistant');
      expect(withChoice.slice(1).some((c) => 'role' in c.choices[0].delta)).toBe(false);
      const finishReasons = withChoice.map((c) => c.choices[0].finish_reason);
      expect(finishReasons.at(-1)).toBe('stop');
      expect(finishReasons.slice(0, -1).every((r) => r === null)).toBe(true);

      const pieces = withChoice.map((c) => c.choices[0].delta.content ?? '').filter(Boolean);
      expect(pieces.length).toBeGreaterThan(1);
      const nonStreamed = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Stream me a sentence.' }],
      });
      expect(pieces.join('')).toBe(nonStreamed.choices[0]?.message.content);
    });

    it('streams through the SDK, and without usage when it was not asked for', async () => {
      const stream = await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'Hi' }],
        stream: true,
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.every((c) => c.choices.length === 1 && c.usage === undefined)).toBe(true);
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toMatch(/^Simulated reply from gpt-4\.1 to: "Hi"/);
    });

    it('answers a json_schema response format with JSON the SDK parses and the schema accepts', async () => {
      const Verdict = z.object({
        score: z.number().min(0).max(1),
        categories: z.object({ accuracy: z.number().min(0).max(1), tone: z.number().min(0).max(1) }),
        violations: z.array(z.object({ rule: z.string(), severity: z.enum(['critical', 'major', 'minor']), message: z.string() })),
        feedback: z.string(),
      });
      const completion = await openai.chat.completions.parse({
        model: 'sim-judge',
        messages: [{ role: 'user', content: 'Judge this candidate.' }],
        response_format: zodResponseFormat(Verdict, 'verdict'),
      });
      const parsed = completion.choices[0]?.message.parsed;
      expect(Verdict.parse(parsed)).toEqual(parsed);
      expect(parsed?.violations[0]?.severity).toBe('critical');
    });

    it('answers a json_object response format with a JSON object', async () => {
      const completion = await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'JSON please' }],
        response_format: { type: 'json_object' },
      });
      expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toMatchObject({ simulated: true });
    });

    it('answers exactly what a reply or json directive says, streamed too', async () => {
      const reply = await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'Say it. [[sim reply="Exactly this, [with] brackets."]]' }],
      });
      expect(reply.choices[0]?.message.content).toBe('Exactly this, [with] brackets.');

      const stream = await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: `Judge. [[sim json='{"score": 0.2, "feedback": "too short"}']]` }],
        stream: true,
      });
      let content = '';
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
      expect(JSON.parse(content)).toEqual({ score: 0.2, feedback: 'too short' });
    });

    it('truncates at max_tokens with finish_reason "length"', async () => {
      const completion = await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'A long answer please' }],
        max_completion_tokens: 2,
      });
      expect(completion.choices[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Simulate' } });
    });
  });

  describe('models', () => {
    it('lists the default models', async () => {
      const ids = [];
      for await (const model of openai.models.list()) ids.push(model.id);
      expect(ids).toEqual(['gpt-4.1', 'gpt-4.1-mini', 'gpt-4o-mini', 'claude-sonnet-4', 'sim-judge']);
    });

    it('accepts any model by default, and 404s an unlisted one with model_not_found when told not to', async () => {
      await expect(
        openai.chat.completions.create({ model: 'my-own-model', messages: [{ role: 'user', content: 'x' }] }),
      ).resolves.toMatchObject({ model: 'my-own-model' });

      sim.configure({ acceptAnyModel: false, models: ['only-this'] });
      const error = await openai.chat.completions
        .create({ model: 'my-own-model', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(error).toMatchObject({ status: 404, code: 'model_not_found', type: 'invalid_request_error' });
      expect((await openai.models.list()).data.map((m) => m.id)).toEqual(['only-this']);
      await expect(openai.models.retrieve('my-own-model')).rejects.toMatchObject({ status: 404 });
    });
  });

  describe('failures', () => {
    it('answers a status directive with an OpenAI-shaped error and its Retry-After headers', async () => {
      const response = await post('/chat/completions', {
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'x [[sim status=429 retry_after=2 retry_after_ms=1500]]' }],
      });
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('2');
      expect(response.headers.get('retry-after-ms')).toBe('1500');
      expect(await response.json()).toEqual({
        error: { message: expect.stringContaining('Rate limit'), type: 'requests', param: null, code: 'rate_limit_exceeded' },
      });
    });

    it('fails only the first `times` requests carrying the same directive', async () => {
      const body = { model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim status=503 times=2]] go' }] };
      expect((await post('/chat/completions', body)).status).toBe(503);
      expect((await post('/chat/completions', body)).status).toBe(503);
      expect((await post('/chat/completions', body)).status).toBe(200);
    });

    it('refuses response_format for the models configured so, as OpenAI words it, and records what was sent', async () => {
      sim.configure({ noResponseFormat: ['plain-model'] });
      const format = { type: 'json_schema' as const, json_schema: { name: 'x', schema: { type: 'object', properties: { a: { type: 'string' } } } } };
      const refused = await openai.chat.completions
        .create({ model: 'plain-model', messages: [{ role: 'user', content: 'JSON [[sim status=429 times=1]]' }], response_format: format })
        .catch((err: unknown) => err);
      expect(refused).toMatchObject({ status: 400, param: 'response_format', type: 'invalid_request_error' });
      expect((refused as Error).message).toMatch(/'response_format' of type 'json_schema' is not supported with this model/);
      await expect(
        openai.chat.completions.create({ model: 'plain-model', messages: [{ role: 'user', content: 'JSON' }], response_format: { type: 'json_object' } }),
      ).rejects.toMatchObject({ status: 400 });

      // The same model without response_format, and another model with it, are answered; the
      // refused request did not use up the directive's `times`.
      const plain = await post('/chat/completions', { model: 'plain-model', messages: [{ role: 'user', content: 'JSON [[sim status=429 times=1]]' }] });
      expect(plain.status).toBe(429);
      const other = await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'JSON' }], response_format: format });
      expect(JSON.parse(other.choices[0]!.message.content!)).toEqual({ a: 'simulated a' });
      expect(sim.requests().map((r) => [r.model, r.status, r.responseFormat])).toEqual([
        ['plain-model', 400, format],
        ['plain-model', 400, { type: 'json_object' }],
        ['plain-model', 429, null],
        ['gpt-4.1', 200, format],
      ]);

      sim.configure({ noResponseFormat: ['*'] });
      await expect(openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'JSON' }], response_format: format })).rejects.toMatchObject({
        status: 400,
      });
    });

    it('rejects a malformed directive with a 400 naming it', async () => {
      const response = await post('/chat/completions', { model: 'm', messages: [{ role: 'user', content: '[[sim stauts=429]]' }] });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: { code: 'invalid_sim_directive', message: expect.stringContaining('stauts') } });
    });

    it('validates the body: bad JSON, a missing field and a bad role each get a 400 naming the problem', async () => {
      const badJson = await fetch(`${sim.url}/chat/completions`, { method: 'POST', body: '{not json' });
      expect(badJson.status).toBe(400);
      expect(await badJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

      const noMessages = await post('/chat/completions', { model: 'gpt-4.1' });
      expect(noMessages.status).toBe(400);
      expect(await noMessages.json()).toMatchObject({ error: { param: 'messages', type: 'invalid_request_error' } });

      const badRole = await post('/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'wizard', content: 'x' }] });
      expect(await badRole.json()).toMatchObject({ error: { param: 'messages[0].role' } });
    });

    it('answers unknown URLs and wrong methods in OpenAI shape', async () => {
      const unknown = await fetch(`${sim.url}/embeddings`, { method: 'POST' });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_url' } });
      const wrongMethod = await fetch(`${sim.url}/chat/completions`);
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.headers.get('allow')).toBe('POST');
    });
  });

  describe('latency', () => {
    it('waits the configured latency before answering', async () => {
      sim.configure({ latencyMs: 150 });
      const started = performance.now();
      await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'slow' }] });
      expect(performance.now() - started).toBeGreaterThanOrEqual(145);
      const [record] = sim.requests();
      expect(record!.respondedAt! - record!.receivedAt).toBeGreaterThanOrEqual(145);
    });

    it('lets a directive override the latency of one request', async () => {
      sim.configure({ latencyMs: 5_000 });
      const started = performance.now();
      await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim latency_ms=0]] fast' }] });
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it('spreads the latency across the chunks of a stream', async () => {
      sim.configure({ latencyMs: 400 });
      const started = performance.now();
      const stream = await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [{ role: 'user', content: 'stream slowly' }],
        stream: true,
      });
      let firstChunkAt: number | undefined;
      for await (const _chunk of stream) firstChunkAt ??= performance.now() - started;
      const total = performance.now() - started;
      expect(total).toBeGreaterThanOrEqual(390);
      expect(firstChunkAt).toBeLessThan(total / 2);
    });
  });

  describe('recording and admin endpoints', () => {
    it('records each request with its timing, model, messages, format, sampling parameters, status and directives', async () => {
      const before = performance.timeOrigin + performance.now();
      await openai.chat.completions.create({
        model: 'gpt-4.1',
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'part one ' }, { type: 'text', text: '[[sim latency_ms=1]]' }] },
        ],
        response_format: { type: 'json_object' },
        temperature: 0.1,
        top_p: 0.5,
        seed: 7,
        stop: ['END'],
      });
      await post('/chat/completions', { model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim status=500]]' }], stream: true });

      const [first, second] = sim.requests();
      expect(first).toEqual({
        id: expect.stringMatching(/^chatcmpl-sim/),
        receivedAt: expect.any(Number),
        respondedAt: expect.any(Number),
        model: 'gpt-4.1',
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: 'part one [[sim latency_ms=1]]' },
        ],
        stream: false,
        responseFormat: { type: 'json_object' },
        parameters: { temperature: 0.1, top_p: 0.5, seed: 7, stop: ['END'] },
        status: 200,
        directives: [{ text: '[[sim latency_ms=1]]', latencyMs: 1 }],
      });
      expect(first!.receivedAt).toBeGreaterThanOrEqual(before);
      expect(first!.receivedAt % 1).not.toBe(0); // sub-millisecond precision
      expect(first!.respondedAt!).toBeGreaterThan(first!.receivedAt);
      expect(second).toMatchObject({ stream: true, status: 500, directives: [{ status: 500 }], parameters: {} });
    });

    it('serves the records, config, reset and health over HTTP for tests in another process', async () => {
      expect(await (await admin('/healthz')).json()).toEqual({ status: 'ok' });

      await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'one' }] });
      const listed = (await (await admin('/_sim/requests')).json()) as { data: SimulatedRequest[] };
      expect(listed.data).toEqual(sim.requests());
      expect(listed.data).toHaveLength(1);

      const configured = await admin('/_sim/config', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latencyMs: 20, acceptAnyModel: false }),
      });
      expect(await configured.json()).toMatchObject({ latencyMs: 20, acceptAnyModel: false, models: expect.arrayContaining(['gpt-4.1']) });
      const rejected = await admin('/_sim/config', { method: 'POST', body: JSON.stringify({ latencyMs: -1, colour: 'red' }) });
      expect(rejected.status).toBe(400);
      expect(await (await admin('/_sim/config')).json()).toMatchObject({ latencyMs: 20 });

      expect((await admin('/_sim/requests', { method: 'DELETE' })).status).toBe(204);
      expect(await (await admin('/_sim/requests')).json()).toEqual({ object: 'list', data: [] });
      // Clearing records keeps the settings; a full reset restores the ones given at start.
      expect(await (await admin('/_sim/config')).json()).toMatchObject({ latencyMs: 20 });
      expect((await admin('/_sim/reset', { method: 'POST' })).status).toBe(204);
      expect(await (await admin('/_sim/config')).json()).toMatchObject({ latencyMs: 0, acceptAnyModel: true });
    });

    it('shows a request in flight, then its answer', async () => {
      const pending = openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim latency_ms=200]]' }] });
      const inFlight = await eventually(() => sim.requests()[0]);
      expect(inFlight).toMatchObject({ status: null, respondedAt: null, model: 'gpt-4.1' });
      await pending;
      expect(sim.requests()[0]).toMatchObject({ status: 200, respondedAt: expect.any(Number) });
    });

    it('keeps the last 10,000 requests', async () => {
      const body = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] });
      // 25 keep-alive connections at a time: enough to be quick, few enough for the listen backlog.
      let remaining = 10_010;
      const worker = async () => {
        while (remaining-- > 0) await fetch(`${sim.url}/chat/completions`, { method: 'POST', body }).then((r) => r.arrayBuffer());
      };
      await Promise.all(Array.from({ length: 25 }, worker));
      const records = sim.requests();
      expect(records).toHaveLength(10_000);
      expect(records[0]?.id).toBe('chatcmpl-sim' + String(Number(records.at(-1)!.id.slice(-8)) - 9_999).padStart(8, '0'));
    });
  });

  describe('with a required key, as a real provider', () => {
    const KEY = 'sk-sim-required-0123456789';
    let keyed: SimulatorHandle;

    beforeAll(async () => {
      keyed = await startSimulator({ port: 0, apiKey: KEY });
    });
    afterAll(() => keyed.close());

    const ask = (apiKey: string) => new OpenAI({ baseURL: keyed.url, apiKey, maxRetries: 0 }).chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }] });

    it('answers a request that carries the key', async () => {
      expect((await ask(KEY)).choices[0]?.message.content).toContain('hi');
      const models = await fetch(`${keyed.url}/models`, { headers: { authorization: `Bearer ${KEY}` } });
      expect(models.status).toBe(200);
    });

    it("refuses another key with OpenAI's 401 invalid_api_key, which the SDK raises as an AuthenticationError", async () => {
      const refused = await ask('sk-wrong-key-9876543210').catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(OpenAI.AuthenticationError);
      expect(refused).toMatchObject({ status: 401, code: 'invalid_api_key', type: 'invalid_request_error' });
      expect((refused as Error).message).toContain('Incorrect API key provided: sk-***3210');
      // The refusal is recorded, so a test can tell a key that did not arrive from a call never made.
      expect(keyed.requests().at(-1)).toMatchObject({ status: 401 });
    });

    it('refuses a request with no key on every /v1 path, but never its control endpoints', async () => {
      for (const [path, init] of [
        ['/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'x' }] }) }],
        ['/v1/models', {}],
        ['/v1/models/gpt-4.1', {}],
      ] as const) {
        const res = await fetch(`${keyed.url.replace(/\/v1$/, '')}${path}`, init);
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({
          error: { message: expect.stringContaining("You didn't provide an API key"), type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
        });
      }
      const base = keyed.url.replace(/\/v1$/, '');
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/_sim/requests`)).status).toBe(200);
    });
  });
});
