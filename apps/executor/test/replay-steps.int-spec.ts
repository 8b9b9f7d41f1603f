import type { CallAnswer, CallRequest, ReplayJob } from '@trellis/contracts';
import { requestHash } from '@trellis/engine';
import { uniqueToken, waitFor } from '@trellis/testing';
import { ExecutorHarness } from './executor-harness';

/**
 * Replayed jobs (docs/replay.md): an executor answers from the recorded answers the job
 * carries when its request is exactly one the source run made, without calling the model or
 * the tool; otherwise it fails the step with `replay_miss` and what differs (`recorded`), or
 * calls the model (`recorded_else_live`). Every result carries its exact request.
 */
describe('executor replayed steps', () => {
  let h: ExecutorHarness;

  beforeAll(async () => {
    h = await ExecutorHarness.start();
    await h.startExecutor();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const answer: CallAnswer = { output: 'the recorded answer', model: 'sim-model-2026', usage: { inputTokens: 7, outputTokens: 3 }, finishReason: 'stop' };
  const modelRequest = (prompt: string, params: Record<string, number> = {}): CallRequest => ({ kind: 'model', model: 'sim-model', messages: [{ role: 'user', content: prompt }], params });
  const replay = (mode: ReplayJob['mode'], ...requests: CallRequest[]): ReplayJob => ({ mode, calls: requests.map((request) => ({ hash: requestHash(request), request, answer })) });

  it('records the exact request of a live call in its result', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Say ${marker}`, params: { temperature: 0.3, maxTokens: 50 } });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.request).toEqual({ kind: 'model', model: 'sim-model', params: { temperature: 0.3, maxTokens: 50 } });
    expect(generated!.replayed).toBeUndefined();
    expect(h.requestsFor(marker)).toHaveLength(1);
  });

  it('answers a request the source made from its recording, without calling the model', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Say ${marker}`, params: { temperature: 0.3 }, replay: replay('recorded', modelRequest(`Say ${marker}`, { temperature: 0.3 })) });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated).toMatchObject({ output: 'the recorded answer', model: 'sim-model-2026', usage: answer.usage, finishReason: 'stop', replayed: true });
    expect(generated!.messages).toEqual([{ role: 'user', content: `Say ${marker}` }]);
    expect(h.requestsFor(marker)).toEqual([]);
  });

  it('fails a request the source did not make with replay_miss, showing what differs, in recorded mode', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Say ${marker} warmly`, replay: replay('recorded', modelRequest(`Say ${marker} dryly`)) });
    const [failed] = await waitFor('the failure', () => h.failedFor(job).length === 1 && h.failedFor(job));
    expect(failed!.error.code).toBe('replay_miss');
    expect(failed!.error.retryable).toBe(false);
    expect(failed!.error.message).toContain(`-Say ${marker} dryly\n+Say ${marker} warmly`);
    expect(h.requestsFor(marker)).toEqual([]);
  });

  it('calls the model for a request the source did not make in recorded_else_live mode', async () => {
    const marker = uniqueToken('m');
    const job = await h.publishJob({ prompt: `Say ${marker} warmly`, replay: replay('recorded_else_live', modelRequest(`Say ${marker} dryly`)) });
    const [generated] = await waitFor('the result', () => h.generatedFor(job).length === 1 && h.generatedFor(job));
    expect(generated!.output).toContain('Simulated reply');
    expect(generated!.replayed).toBeUndefined();
    expect(h.requestsFor(marker)).toHaveLength(1);
  });

  it('answers a tool call with the arguments the source used from its recording', async () => {
    const tool = { name: 'transform', with: { data: { n: 1 }, expression: 'data' } };
    const live = await h.publishJob({ tool, prompt: undefined, model: '-' });
    const [first] = await waitFor('the live result', () => h.generatedFor(live).length === 1 && h.generatedFor(live));
    expect(first!.request).toMatchObject({ kind: 'tool', tool: 'transform' });
    const request = first!.request as CallRequest;
    const recorded: ReplayJob = { mode: 'recorded', calls: [{ hash: requestHash(request), request, answer: { output: '{"n":2}', structured: { n: 2 }, model: '-', usage: { inputTokens: 0, outputTokens: 0 }, finishReason: null } }] };
    const replayed = await h.publishJob({ tool, prompt: undefined, model: '-', replay: recorded });
    const [second] = await waitFor('the replayed result', () => h.generatedFor(replayed).length === 1 && h.generatedFor(replayed));
    expect(second).toMatchObject({ output: '{"n":2}', structured: { n: 2 }, replayed: true });
  });
});
