import type { CallRequest, ReplayJob, StepGenerated, StepVerified } from '@trellis/contracts';
import { newRunSnapshot } from '../run/run-record';
import { compilePipeline } from '../spec/compile-pipeline';
import { callsToRecord, matchRecordedCall, recordedCallOf, replayJobOf, replayMissReason, requestHash } from './recorded-calls';

const request: CallRequest = {
  kind: 'model',
  model: 'gpt-4.1',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Write about kettles\nin a dry tone' },
  ],
  params: { temperature: 0.2 },
};
const answer = { output: 'Kettles boil.', model: 'gpt-4.1-2026', usage: { inputTokens: 12, outputTokens: 3 }, finishReason: 'stop' };
const job = (calls: CallRequest[]): ReplayJob => ({ mode: 'recorded', calls: calls.map((r, i) => ({ hash: requestHash(r), request: r, answer: { ...answer, output: `answer ${i}` } })) });

describe('requestHash', () => {
  it('is the same for the same request whatever the order its fields were written in', () => {
    const reordered = { params: { temperature: 0.2 }, messages: request.messages, model: 'gpt-4.1', kind: 'model' } as CallRequest;
    expect(requestHash(reordered)).toBe(requestHash(request));
  });

  it('differs when a message, a parameter, the model or the response format differs', () => {
    const variants: CallRequest[] = [
      { ...request, messages: [request.messages[0]!, { role: 'user', content: 'Write about teapots\nin a dry tone' }] },
      { ...request, params: { temperature: 0.3 } },
      { ...request, params: { temperature: 0.2, maxTokens: 10 } },
      { ...request, model: 'gpt-4.1-mini' },
      { ...request, responseFormat: { type: 'json_object' } },
    ];
    for (const v of variants) expect(requestHash(v)).not.toBe(requestHash(request));
  });
});

describe('matchRecordedCall', () => {
  it('answers an identical request with the newest recorded answer to it', () => {
    expect(matchRecordedCall(job([request, { ...request, model: 'x' }, request]), request)?.answer.output).toBe('answer 2');
  });

  it('finds nothing for a request that differs', () => {
    expect(matchRecordedCall(job([request]), { ...request, params: {} })).toBeUndefined();
  });
});

describe('replayMissReason', () => {
  it('shows what differs between the recorded and the new request as a unified diff', () => {
    const changed: CallRequest = { ...request, messages: [request.messages[0]!, { role: 'user', content: 'Write about kettles\nin a warm tone' }] };
    expect(replayMissReason(job([request]), changed, { stepId: 'b', iteration: 1 })).toBe(
      [
        'the request of step "b" differs from the recorded one:',
        '--- recorded',
        '+++ replayed',
        '@@ -5,3 +5,3 @@',
        ' [user]',
        ' Write about kettles',
        '-in a dry tone',
        '+in a warm tone',
      ].join('\n'),
    );
  });

  it('says when nothing was recorded for the step', () => {
    expect(replayMissReason(job([]), request, { stepId: 'c', iteration: 2 })).toMatch(/^the source run recorded no call for step "c" round 2/);
  });
});

describe('recordedCallOf', () => {
  const e: StepGenerated = {
    runId: '01934a5c-0000-7000-8000-000000000001',
    stepId: 'b',
    attempt: 2,
    output: '{"n":1}',
    structured: { n: 1 },
    model: 'gpt-4.1-2026',
    messages: request.messages,
    usage: answer.usage,
    finishReason: 'stop',
    startedAt: '2026-12-05T12:00:00.000Z',
    finishedAt: '2026-12-05T12:00:01.000Z',
    executor: 'e1',
    request: { kind: 'model', model: 'gpt-4.1', params: { temperature: 0.2 }, responseFormat: { type: 'json_object' } },
  };

  it('records the exact request (the event\'s messages with its model, parameters and response format) and the answer, in its round', () => {
    const iterations = [{ iteration: 1, attempt: 1, model: 'm', feedbackUsed: false, revisedBest: false, escalated: false, dispatchedAt: '' }, { iteration: 2, attempt: 2, model: 'm', feedbackUsed: true, revisedBest: false, escalated: false, dispatchedAt: '' }];
    expect(recordedCallOf({ iterations }, e)).toEqual({
      stepId: 'b',
      attempt: 2,
      iteration: 2,
      call: 'generate',
      request: { ...request, responseFormat: { type: 'json_object' } },
      answer: { output: '{"n":1}', structured: { n: 1 }, model: 'gpt-4.1-2026', usage: answer.usage, finishReason: 'stop' },
      at: '2026-12-05T12:00:01.000Z',
    });
  });

  it('records nothing for a result without its request (an older executor)', () => {
    const { request: _r, ...older } = e;
    expect(recordedCallOf({ iterations: [] }, older)).toBeUndefined();
  });

  it('records a tool call with its arguments', () => {
    const tool = recordedCallOf({ iterations: [] }, { ...e, model: '-', messages: [], request: { kind: 'tool', tool: 'http', arguments: { url: 'https://x.invalid' } } });
    expect(tool?.request).toEqual({ kind: 'tool', tool: 'http', arguments: { url: 'https://x.invalid' } });
    expect(tool?.iteration).toBe(1);
  });
});

describe('replayJobOf', () => {
  const calls = [1, 2].map((iteration) => ({ stepId: 'b', attempt: iteration, iteration, call: 'generate', request, answer, at: '' }));

  it("carries a verification job the judges' answers, and a step job its generation's", () => {
    const judged = { source: { run: 'r', from: null, mode: 'recorded' as const }, replayCalls: [calls[0]!, { ...calls[0]!, call: 'judge.1', request: { ...request, model: 'judge' } as CallRequest }] };
    expect(replayJobOf(judged, 'b', 1, 'judge')?.calls.map((c) => c.request.kind === 'model' && c.request.model)).toEqual(['judge']);
    expect(replayJobOf(judged, 'b', 1)?.calls.map((c) => c.request.kind === 'model' && c.request.model)).toEqual(['gpt-4.1']);
  });
  const run = (mode: 'recorded' | 'live' | 'recorded_else_live') => ({ source: { run: 'r', from: null, mode }, replayCalls: [...calls, { ...calls[0]!, stepId: 'c' }] });

  it("carries the source's answers for the step's round, with their hashes", () => {
    expect(replayJobOf(run('recorded_else_live'), 'b', 2)).toEqual({ mode: 'recorded_else_live', calls: [{ hash: requestHash(request), request, answer }] });
  });

  it('carries nothing for a live replay or a run that is no replay', () => {
    expect(replayJobOf(run('live'), 'b', 1)).toBeUndefined();
    expect(replayJobOf({ source: null, replayCalls: [] }, 'b', 1)).toBeUndefined();
  });
});

describe('callsToRecord', () => {
  const pipeline = (() => {
    const r = compilePipeline({ json: { version: 1, name: 'p', steps: { b: { prompt: 'x' } } } }, { defaultModel: 'm', defaultPool: 'default' });
    if (!r.ok) throw new Error('compile');
    return r.pipeline;
  })();
  const run = (recording: boolean) => newRunSnapshot(pipeline, { id: 'r', project: 'p', pipeline: 'p', pipelineVersion: 1, inputs: {}, templates: [], subject: null, stream: false, actor: null, recording, priority: 3, concurrencyKey: null, createdAt: new Date(0) });
  const generated: StepGenerated = { runId: 'r', stepId: 'b', attempt: 1, output: 'o', model: 'm', messages: request.messages, usage: answer.usage, finishReason: 'stop', startedAt: '', finishedAt: '2026-12-05T12:00:00.000Z', executor: 'e', request: { kind: 'model', model: 'm', params: {} } };
  const judgeCall = { call: 'judge.0', request: { ...request, model: 'judge' } as Extract<CallRequest, { kind: 'model' }>, answer };
  const verified: StepVerified = { runId: 'r', stepId: 'b', attempt: 1, verdict: 'accept', score: 1, categories: {}, violations: [], iteration: 1, calls: [judgeCall] };

  it("records a generation's call and a verdict's judge calls", () => {
    expect(callsToRecord(run(true), { type: 'generated', result: generated }, new Date(0)).map((c) => [c.call, c.request.kind === 'model' && c.request.model])).toEqual([['generate', 'm']]);
    expect(callsToRecord(run(true), { type: 'verified', result: verified }, new Date(0))).toEqual([
      { stepId: 'b', attempt: 1, iteration: 1, call: 'judge.0', request: judgeCall.request, answer, at: '1970-01-01T00:00:00.000Z' },
    ]);
  });

  it('records nothing for a run that does not record, or an input that is no result', () => {
    expect(callsToRecord(run(false), { type: 'generated', result: generated }, new Date(0))).toEqual([]);
    expect(callsToRecord(run(true), { type: 'cancel' }, new Date(0))).toEqual([]);
  });
});
