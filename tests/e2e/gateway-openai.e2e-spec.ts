import OpenAI, { APIError, AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { startTestPlatform, type TestPlatform } from '@trellis/testing';

/**
 * The OpenAI-compatible facade through the whole platform, driven by the official `openai`
 * SDK exactly as an application (or Open WebUI) would use it.
 */
describe('OpenAI-compatible facade', () => {
  let ctx: TestPlatform;
  let client: OpenAI;

  const chatBot = {
    version: 1,
    name: 'chat-bot',
    description: 'Answers a message in two steps.',
    inputs: { message: { type: 'string', required: true }, tone: { type: 'string', default: 'friendly' } },
    steps: {
      draft: { prompt: 'Draft a {{ inputs.tone }} answer to: {{ inputs.message }}' },
      polish: { depends_on: ['draft'], prompt: 'Polish this answer: {{ steps.draft.output }}' },
    },
  };
  const transcript = {
    version: 1,
    name: 'transcript',
    inputs: { messages: { type: 'array', required: true } },
    steps: { answer: { prompt: 'Reply to the last of {{ inputs.messages | size }} messages' }, log: { depends_on: ['answer'], prompt: 'log it' } },
  };

  const runCount = async () => (await ctx.api.get('/v1/runs?limit=200')).body.items.length as number;

  beforeAll(async () => {
    // Short heartbeats, so that streams below carry `: keep-alive` comments the SDK must skip.
    ctx = await startTestPlatform({ serviceEnv: { gateway: { GATEWAY_SSE_HEARTBEAT_MS: '150' } } });
    for (const spec of [chatBot, transcript]) expect((await ctx.api.post('/v1/pipelines', spec)).status).toBe(201);
    client = new OpenAI({ baseURL: `${ctx.platform.gatewayUrl}/v1`, apiKey: ctx.apiKey, maxRetries: 0 });
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it("lists the project's pipelines as models", async () => {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    expect(models.map((m) => m.id).sort()).toEqual(['chat-bot', 'transcript']);
    expect(models[0]).toMatchObject({ object: 'model', owned_by: 'default' });
    expect((await client.models.retrieve('chat-bot')).id).toBe('chat-bot');
  });

  it('answers a non-streaming chat with the last step of the pipeline run on the last user message', async () => {
    const completion = await client.chat.completions.create({
      model: 'chat-bot',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'an earlier question' },
        { role: 'assistant', content: 'an earlier answer' },
        { role: 'user', content: 'What is a trellis?' },
      ],
      temperature: 0.2,
      top_p: 0.9,
      seed: 7,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]).toMatchObject({ index: 0, finish_reason: 'stop', message: { role: 'assistant' } });
    const runId = completion.id.replace(/^chatcmpl-/, '');
    const run = (await ctx.api.get(`/v1/runs/${runId}`)).body;
    expect(run).toMatchObject({ status: 'succeeded', pipeline: 'chat-bot', inputs: { message: 'What is a trellis?' } });
    const polish = run.steps.find((s: { id: string }) => s.id === 'polish');
    expect(completion.choices[0]!.message.content).toBe(polish.output);
    expect(completion.usage).toMatchObject({ prompt_tokens: run.usage.inputTokens, completion_tokens: run.usage.outputTokens });
    expect(completion.usage!.total_tokens).toBe(run.usage.inputTokens + run.usage.outputTokens);
  });

  it('streams chunks: the role first, finish_reason only on the last, usage when asked, then [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'chat-bot',
      // Slow steps: heartbeat comments arrive between the chunks.
      messages: [{ role: 'user', content: 'What is a trellis? [[sim latency_ms=400]]' }],
      stream: true,
      stream_options: { include_usage: true },
      frequency_penalty: 0,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    expect(withChoices[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(withChoices.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null)).toBe(true);
    expect(withChoices.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.total_tokens).toBeGreaterThan(0);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);

    const content = withChoices.map((c) => c.choices[0]!.delta.content ?? '').join('');
    const runId = chunks[0]!.id.replace(/^chatcmpl-/, '');
    const run = (await ctx.api.get(`/v1/runs/${runId}`)).body;
    expect(content).toBe(run.steps.find((s: { id: string }) => s.id === 'polish').output);
  });

  it('ends the raw stream with data: [DONE]', async () => {
    const res = await fetch(`${ctx.platform.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat-bot', messages: [{ role: 'user', content: 'hi [[sim latency_ms=300]]' }], stream: true }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const text = await res.text();
    expect(text).toContain(': keep-alive\n\n');
    const lines = text.split('\n').filter((l) => l.startsWith('data: '));
    expect(lines.at(-1)).toBe('data: [DONE]');
    expect(lines.filter((l) => l.includes('"usage":{'))).toEqual([]);
  });

  it('gives the whole conversation to a pipeline that declares a messages input', async () => {
    const completion = await client.chat.completions.create({
      model: 'transcript',
      messages: [
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'two' },
        { role: 'user', content: [{ type: 'text', text: 'three' }] },
      ],
    });
    const run = (await ctx.api.get(`/v1/runs/${completion.id.replace(/^chatcmpl-/, '')}`)).body;
    expect(run.inputs.messages).toEqual([
      { role: 'user', content: 'one' },
      { role: 'assistant', content: 'two' },
      { role: 'user', content: 'three' },
    ]);
    // The step named `answer` answers, not the last step.
    expect(completion.choices[0]!.message.content).toBe(run.steps.find((s: { id: string }) => s.id === 'answer').output);
  });

  it('answers an unknown model with a 404 the SDK parses', async () => {
    const err = await client.chat.completions.create({ model: 'no-such-pipeline', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).code).toBe('model_not_found');
    expect((err as NotFoundError).param).toBe('model');
    await expect(client.models.retrieve('no-such-pipeline')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('answers bad requests and bad keys in the OpenAI error shape', async () => {
    const bad = await client.chat.completions.create({ model: 'chat-bot', messages: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).param).toBe('messages');
    const stranger = new OpenAI({ baseURL: `${ctx.platform.gatewayUrl}/v1`, apiKey: 'not-a-valid-key-at-all', maxRetries: 0 });
    await expect(stranger.models.list()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('reports a run that fails after the stream started as an error data line', async () => {
    // The simulator answers 400 (not retryable) to a prompt carrying this directive.
    const stream = await client.chat.completions.create({ model: 'chat-bot', messages: [{ role: 'user', content: 'fail [[sim status=400]]' }], stream: true });
    const err = await (async () => {
      for await (const _ of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
    expect(String((err as APIError).message)).toMatch(/failed/);
  });

  it('answers Open WebUI title, tags and follow-up requests without starting a run', async () => {
    const before = await runCount();
    const history = '<chat_history>\nUSER: How do I grow tomatoes on a balcony?\nASSISTANT: Use a large pot.\n</chat_history>';
    const title = await client.chat.completions.create({
      model: 'chat-bot',
      messages: [{ role: 'user', content: `### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Output:\nJSON format: { "title": "your concise title here" }\n${history}` }],
    });
    expect(JSON.parse(title.choices[0]!.message.content!)).toEqual({ title: 'How do I grow tomatoes' });
    const tags = await client.chat.completions.create({
      model: 'chat-bot',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: `### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history.\n${history}` }],
    });
    let text = '';
    for await (const c of tags) text += c.choices[0]?.delta.content ?? '';
    expect(JSON.parse(text)).toEqual({ tags: ['General'] });
    const followUps = await client.chat.completions.create({
      model: 'chat-bot',
      messages: [{ role: 'user', content: `### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next.\n${history}` }],
    });
    expect(JSON.parse(followUps.choices[0]!.message.content!)).toEqual({ follow_ups: [] });
    expect(await runCount()).toBe(before);
  });
});
