import { randomUUID } from 'node:crypto';
import { RunCompleted, subjects } from '@trellis/contracts';
import { uniqueToken, waitFor } from '@trellis/testing';
import { ExecutorHarness } from './executor-harness';

/**
 * One executor process, the simulator over HTTP and real NATS: what a model step does with
 * answers, failures, long calls, JSON outputs and a cancelled run.
 */
describe('executor model steps', () => {
  let h: ExecutorHarness;

  beforeAll(async () => {
    h = await ExecutorHarness.start();
    const providers = h.providersFile(`
version: 1
providers:
  sim:
    base_url: ${h.sim.url}
    api_key_env: OPENAI_API_KEY
models:
  priced-model:
    provider: sim
    price: { input: 2, output: 8 }
    context_window: 128000
    capabilities: [structured_outputs]
  listed-without-structured-outputs:
    provider: sim
    price: { input: 0, output: 0 }
    context_window: 8192
`);
    // A short ack wait: heartbeats must keep calls longer than it alive.
    await h.startExecutor({ TRELLIS_PROVIDERS: providers, EXECUTOR_ACK_WAIT_MS: '1000', EXECUTOR_PROGRESS_INTERVAL_MS: '250' });
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  it('streams the answer as throttled progress and publishes it with usage and cost', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ model: 'priced-model', prompt: `Write it ${marker} [[sim latency_ms=1500]]`, stream: true });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.output).toContain('Simulated reply from priced-model');
    expect(generated!.usage.inputTokens).toBeGreaterThan(0);
    expect(generated!.cost).toBeCloseTo((generated!.usage.inputTokens * 2 + generated!.usage.outputTokens * 8) / 1e6, 12);
    const progress = h.seen.progress.filter((p) => p.stepId === job.stepId);
    // 1.5 s of streaming at one event per 250 ms at most.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.length).toBeLessThanOrEqual(8);
    expect(progress.map((p) => p.delta).join('')).toBe(generated!.output);
    expect(h.requestsFor(marker)[0]!.stream).toBe(true);
  });

  it('calls the model whole, with no progress, for a run that did not ask for streaming', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ model: 'priced-model', prompt: `Write it ${marker} [[sim latency_ms=600]]` });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.output).toContain('Simulated reply from priced-model');
    expect(generated!.usage.outputTokens).toBeGreaterThan(0);
    expect(h.requestsFor(marker)[0]!.stream).toBe(false);
    expect(h.seen.progress.filter((p) => p.stepId === job.stepId)).toEqual([]);
  });

  it("publishes a job's continuations with its answer before its result, and they run", async () => {
    const marker = uniqueToken('m');
    const runId = randomUUID();
    const next = { runId, project: 'p', stepId: `n_${uniqueToken()}`, attempt: 1, pool: 'default', model: 'priced-model', prompt: `Then ${marker}: {{ steps.first.output }}`, context: { inputs: {}, steps: {} }, params: {} };
    const job = await h.publishJob({ runId, stepId: 'first', model: 'priced-model', prompt: `First ${marker}`, then: [next] });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.continued).toEqual([next.stepId]);
    const [continued] = await waitFor('the continuation to run', () => h.generatedFor(next).length === 1 && h.generatedFor(next));
    expect(continued!.messages.at(-1)?.content).toBe(`Then ${marker}: ${generated!.output}`);
  });

  it('leaves the cost out for a model the catalog does not price', async () => {
    const job = await h.publishJob({ model: 'unlisted-model' });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.model).toBe('unlisted-model');
    expect(generated!.cost).toBeUndefined();
  });

  it('waits at least the Retry-After of a 429 before the next try, then succeeds', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Summarise ${marker} [[sim status=429 retry_after=2 times=1]]` });
    await waitFor('the result', () => h.generatedFor(job).length === 1, { timeoutMs: 20_000 });
    const [first, second] = h.requestsFor(marker);
    expect(first!.status).toBe(429);
    expect(second!.status).toBe(200);
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(2_000);
    expect(h.failedFor(job)).toEqual([]);
  });

  it('fails the step on a 400 without trying again', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Summarise ${marker} [[sim status=400]]` });
    const [failed] = await waitFor('the failure', () => h.failedFor(job).length === 1 && h.failedFor(job));
    expect(failed!.error).toMatchObject({ code: 'llm.bad_request', retryable: false });
    expect(h.requestsFor(marker)).toHaveLength(1);
    expect(h.generatedFor(job)).toEqual([]);
  });

  it("stops after the retry policy's attempts and reports the last error", async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Summarise ${marker} [[sim status=503]]`, retry: { attempts: 3, initialMs: 100, maxMs: 200 } });
    const [failed] = await waitFor('the failure', () => h.failedFor(job).length === 1 && h.failedFor(job), { timeoutMs: 20_000 });
    expect(failed!.error.code).toBe('llm.provider_unavailable');
    expect(failed!.error.message).toMatch(/gave up after 3 tries/);
    expect(h.requestsFor(marker)).toHaveLength(3);
  });

  it("times a call out at the step's timeoutMs, as a retryable failure", async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Slow ${marker} [[sim latency_ms=5000]]`, timeoutMs: 300, retry: { attempts: 2, initialMs: 50, maxMs: 50 } });
    const [failed] = await waitFor('the failure', () => h.failedFor(job).length === 1 && h.failedFor(job), { timeoutMs: 10_000 });
    expect(failed!.error).toMatchObject({ code: 'llm.timeout', message: expect.stringMatching(/gave up after 2 tries/) });
    expect(h.requestsFor(marker)).toHaveLength(2);
  });

  it('keeps a call longer than the ack wait alive with heartbeats: one delivery, one request', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Think long ${marker} [[sim latency_ms=3500]]` });
    await waitFor('the result', () => h.generatedFor(job).length === 1, { timeoutMs: 20_000 });
    expect(h.requestsFor(marker)).toHaveLength(1);
    const info = await h.consumer();
    expect(info.num_redelivered).toBe(0);
  });

  it('asks for a strict JSON-schema answer where the catalog allows it and the schema qualifies, and publishes it parsed', async () => {
    const marker = uniqueToken('m');
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['title', 'tags'],
      properties: { title: { type: 'string' }, tags: { type: 'array', items: { type: 'string' } } },
    };
    const job = await h.publishJob({ model: 'priced-model', prompt: `Title ${marker}`, output: { format: 'json', schema } });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(h.requestsFor(marker)[0]!.responseFormat).toEqual({ type: 'json_schema', json_schema: { name: job.stepId, schema, strict: true } });
    expect(generated!.structured).toEqual(JSON.parse(generated!.output));
    expect(generated!.structured).toMatchObject({ title: expect.any(String), tags: expect.any(Array) });
    expect(generated!.structuredOutput).toEqual({ mode: 'response_format', type: 'json_schema', strict: true });
  });

  it('asks a model without a catalog entry for a JSON-schema answer, as it is, and publishes the parsed object', async () => {
    const marker = uniqueToken('m');
    // Optional fields and no additionalProperties: strict mode would refuse it, so it goes without.
    const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' }, pages: { type: 'integer', minimum: 1 } } };
    const job = await h.publishJob({ model: 'uncatalogued-model', prompt: `Title ${marker}`, output: { format: 'json', schema } });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    const [request] = h.requestsFor(marker);
    expect(request!.responseFormat).toEqual({ type: 'json_schema', json_schema: { name: job.stepId, schema } });
    // The prompt is left as written: the schema travels in response_format.
    expect(request!.messages).toEqual([{ role: 'user', content: `Title ${marker}` }]);
    expect(generated!.structured).toEqual({ title: 'simulated title', pages: 1 });
    expect(generated!.structuredOutput).toEqual({ mode: 'response_format', type: 'json_schema', strict: false });
  });

  it('asks for JSON mode, with instructions, for a JSON step without a schema', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ model: 'uncatalogued-model', prompt: `Facts ${marker}`, output: { format: 'json' } });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    const [request] = h.requestsFor(marker);
    expect(request!.responseFormat).toEqual({ type: 'json_object' });
    expect(request!.messages[0]!.content).toContain('Answer with JSON only');
    expect(generated!.structured).toMatchObject({ simulated: true, model: 'uncatalogued-model' });
    expect(generated!.structuredOutput).toEqual({ mode: 'response_format', type: 'json_object' });
  });

  it("asks again at once with instructions when the provider refuses response_format, records why, and asks the model that way from then on", async () => {
    h.sim.configure({ noResponseFormat: ['refusing-model'] });
    const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };
    const firstMarker = uniqueToken('m');
    // One try only: the refusal must neither fail the step nor cost a delivery.
    const first = await h.publishJob({
      model: 'refusing-model',
      prompt: `Title ${firstMarker} [[sim json='{"title":"Asked in the prompt"}']]`,
      output: { format: 'json', schema },
      retry: { attempts: 1, initialMs: 0, maxMs: 0 },
    });
    const [generated] = await waitFor('the result', () => h.generatedFor(first).length === 1 && h.generatedFor(first));
    const requests = h.requestsFor(firstMarker);
    expect(requests.map((r) => [r.status, r.responseFormat?.type ?? null])).toEqual([
      [400, 'json_schema'],
      [200, null],
    ]);
    expect(requests[1]!.messages.at(-1)!.content).toContain(`The JSON must be valid against this JSON Schema:\n${JSON.stringify(schema)}`);
    expect(generated!.structured).toEqual({ title: 'Asked in the prompt' });
    expect(generated!.messages).toEqual(requests[1]!.messages);
    expect(generated!.structuredOutput).toEqual({
      mode: 'instructions',
      reason: 'rejected',
      message: expect.stringContaining("'response_format' of type 'json_schema' is not supported with this model"),
    });
    expect(h.failedFor(first)).toEqual([]);

    // The next step with that model goes straight to instructions.
    const secondMarker = uniqueToken('m');
    const second = await h.publishJob({ model: 'refusing-model', prompt: `Again ${secondMarker} [[sim json='{"title":"Straight away"}']]`, output: { format: 'json', schema } });
    const [again] = await waitFor('the second result', () => h.generatedFor(second).length === 1 && h.generatedFor(second));
    expect(h.requestsFor(secondMarker).map((r) => [r.status, r.responseFormat])).toEqual([[200, null]]);
    expect(again!.structured).toEqual({ title: 'Straight away' });
    expect(again!.structuredOutput).toEqual({ mode: 'instructions', reason: 'remembered', message: generated!.structuredOutput!.message });
  });

  it('retries an answer that does not fit the schema, then fails the step naming the field', async () => {
    const marker = uniqueToken('m');
    const schema = { type: 'object', required: ['title'], properties: { title: { type: 'string' } } };
    const job = await h.publishJob({
      model: 'listed-without-structured-outputs',
      prompt: `Title ${marker} [[sim json='{"name":"x"}']]`,
      output: { format: 'json', schema },
      retry: { attempts: 2, initialMs: 100, maxMs: 100 },
    });
    const [failed] = await waitFor('the failure', () => h.failedFor(job).length === 1 && h.failedFor(job), { timeoutMs: 20_000 });
    expect(failed!.error.code).toBe('invalid_output');
    expect(failed!.error.message).toMatch(/title/);
    const requests = h.requestsFor(marker);
    expect(requests).toHaveLength(2);
    // The catalog lists the model without structured_outputs: the schema travels in the prompt instead.
    expect(requests[0]!.responseFormat).toBeNull();
    expect(JSON.stringify(requests[0]!.messages)).toContain('JSON Schema');
  });

  it("renders a registry template's messages with the step's rendered `with` as their inputs", async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({
      system: 'Be brief.',
      template: {
        name: 'greet',
        version: 2,
        body: [
          { role: 'system', content: 'You greet people.' },
          { role: 'user', content: `Greet {{ inputs.who }} ${marker}` },
        ],
        with: { who: '{{ inputs.name }} from {{ steps.plan.output }}' },
      },
      context: { inputs: { name: 'Ada' }, steps: { plan: { output: 'London' } } },
    });
    await waitFor('the result', () => h.generatedFor(job).length === 1);
    expect(h.requestsFor(marker)[0]!.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'You greet people.' },
      { role: 'user', content: `Greet Ada from London ${marker}` },
    ]);
  });

  it('sends the parameters the job carries (the step\'s own, else its template version\'s) to the model', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Tune ${marker}`, params: { temperature: 0.1, maxTokens: 300, topP: 0.9, presencePenalty: 0.2, frequencyPenalty: 0.3, stop: ['END'], seed: 11 } });
    await waitFor('the result', () => h.generatedFor(job).length === 1);
    expect(h.requestsFor(marker)[0]!.parameters).toEqual({ temperature: 0.1, max_completion_tokens: 300, top_p: 0.9, presence_penalty: 0.2, frequency_penalty: 0.3, stop: ['END'], seed: 11 });
  });

  it("sends a later round of a verification loop the candidate to revise and the verifier's feedback", async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Pitch ${marker}`, attempt: 2, iteration: 2, previousOutput: 'A kettle.', feedback: 'Name the price.' });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    const expected = [
      { role: 'user', content: `Pitch ${marker}` },
      { role: 'assistant', content: 'A kettle.' },
      { role: 'user', content: 'Name the price.' },
    ];
    expect(h.requestsFor(marker)[0]!.messages).toEqual(expected);
    expect(generated!.messages).toEqual(expected);
  });

  it('aborts the call of a cancelled run and acks its job without a result', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Slow ${marker} [[sim latency_ms=20000]]` });
    await waitFor('the call to start', () => h.requestsFor(marker).length === 1);
    await h.publishEvent(
      RunCompleted,
      { runId: job.runId, status: 'cancelled', usage: { inputTokens: 0, outputTokens: 0 }, durationMs: 1 },
      { subject: subjects(h.ns).event('run', 'completed', job.runId) },
    );
    await waitFor('the job to be acked', async () => (await h.consumer()).num_ack_pending === 0, { timeoutMs: 10_000 });
    await waitFor('the simulator to see the client leave', () => h.requestsFor(marker)[0]!.respondedAt !== null);
    expect(h.requestsFor(marker)[0]!.status).toBeNull();
    expect(h.generatedFor(job)).toEqual([]);
    expect(h.failedFor(job)).toEqual([]);

    // The run is resumed: a job dispatched after it ended runs as usual.
    const resumed = await h.publishJob({ runId: job.runId, stepId: job.stepId, attempt: 2, prompt: `Resumed ${marker}` });
    await waitFor('the resumed step to run', () => h.seen.generated.some((g) => g.runId === resumed.runId && g.attempt === 2));
  });
});
