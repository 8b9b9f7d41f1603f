import type { ReplayJob, VerifyPolicy } from '@trellis/contracts';
import { requestHash } from '@trellis/engine';
import { candidate, VerifierHarness } from './verifier-harness';

const policy: VerifyPolicy = { maxIterations: 3, improvementThreshold: 0.05, acceptAt: 0.8, categoryMin: 0.75, escalate: false };
const gates = [{ contains: 'brief' }, { judge: { rubric: 'Accurate and clear.', categories: ['accuracy'], weight: 1 } }];

/**
 * Judges in recordings and replays (docs/replay.md): a verdict carries each judge's exact call,
 * and a replayed verification job is answered from the recorded judge answers it carries.
 */
describe('verifier: recorded and replayed judges', () => {
  let sut: VerifierHarness;

  beforeAll(async () => {
    sut = await VerifierHarness.start();
  }, 60_000);
  afterAll(() => sut?.stop());

  it("reports each judge's exact request and answer with the verdict, named by its gate", async () => {
    const output = candidate('A brief, recorded.', { score: 0.9, categories: { accuracy: 0.9 } });
    const verdict = await sut.verdictFor(await sut.publishJob({ output, gates, policy }));
    expect(verdict.calls).toHaveLength(1);
    const [call] = verdict.calls!;
    expect(call!.replayed).toBeUndefined();
    expect(call).toMatchObject({ call: 'judge.1', request: { kind: 'model', model: 'sim-judge', params: { temperature: 0 }, responseFormat: { type: 'json_schema', name: 'judge_verdict', strict: true } }, answer: { model: 'sim-judge', finishReason: 'stop' } });
    expect(JSON.parse(call!.answer.output)).toMatchObject({ score: 0.9 });
    expect(sut.judgeRequestsFor('A brief, recorded.')[0]!.messages).toEqual(call!.request.messages);
  });

  it('answers a replayed judge from its recording without calling the model, and fails a changed request in recorded mode', async () => {
    const output = candidate('A brief, replayed.', { score: 0.9, categories: { accuracy: 0.9 } });
    const recorded = await sut.verdictFor(await sut.publishJob({ output, gates, policy }));
    const { request, answer } = recorded.calls![0]!;
    // The recorded answer says 0.95: a replay that used the model would get the candidate's 0.9.
    const replayed: ReplayJob = { mode: 'recorded', calls: [{ hash: requestHash(request), request, answer: { ...answer, output: JSON.stringify({ score: 0.95, categories: { accuracy: 0.95 }, violations: [], feedback: '' }) } }] };
    const before = sut.judgeRequestsFor('A brief, replayed.').length;
    const verdict = await sut.verdictFor(await sut.publishJob({ output, gates, policy, replay: replayed }));
    expect(verdict).toMatchObject({ verdict: 'accept', score: 0.975, calls: [{ call: 'judge.1', replayed: true }] });
    expect(sut.judgeRequestsFor('A brief, replayed.')).toHaveLength(before);

    const changed = await sut.publishJob({ output: `${output} (edited)`, gates, policy, replay: replayed });
    const failed = await sut.failedFor(changed);
    expect(failed.error.code).toBe('replay_miss');
    expect(failed.error.message).toContain('+A brief, replayed.');
    expect(sut.judgeRequestsFor('(edited)')).toEqual([]);
  });
});
