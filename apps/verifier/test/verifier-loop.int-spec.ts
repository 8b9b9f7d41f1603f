import { subjects, type Gate, type VerifyPolicy } from '@trellis/contracts';
import { candidate, VerifierHarness } from './verifier-harness';

const policy: VerifyPolicy = { maxIterations: 3, improvementThreshold: 0.05, acceptAt: 0.8, categoryMin: 0.75, escalate: false };
const judge = (extra: Record<string, unknown> = {}): Gate => ({ judge: { rubric: 'Accurate, clear and complete.', categories: ['accuracy', 'clarity'], weight: 1, ...extra } });
const major = (message: string) => ({ rule: 'accuracy', severity: 'major', message });

/** The verifier as its own process over real NATS, judging with the simulator over HTTP. */
describe('verifier: gates, judge and the iteration loop', () => {
  let sut: VerifierHarness;

  beforeAll(async () => {
    sut = await VerifierHarness.start({ VERIFIER_MAX_DELIVER: '2' });
  }, 60_000);
  afterAll(() => sut?.stop());

  it('accepts in round 1 on deterministic gates alone, without calling a model', async () => {
    const job = await sut.publishJob({ output: '{"title":"Brief"}', gates: ['json', { contains: 'Brief' }, { length: { min: 5 } }], policy });
    const verdict = await sut.verdictFor(job);
    expect(verdict).toMatchObject({ verdict: 'accept', score: 1, iteration: 1, stop: 'accepted', best: { iteration: 1, attempt: 1, score: 1 } });
    expect(verdict.gates?.map((g) => g.gate)).toEqual(['json', 'contains', 'length']);
    expect(verdict.judgeUsage).toBeUndefined();
    expect(sut.judgeRequestsFor(job.stepId)).toEqual([]);
  });

  it('asks the judge through the openai SDK with a JSON-schema response_format and reads back its verdict', async () => {
    const output = candidate('A clear brief.', { score: 0.9, categories: { accuracy: 0.9, clarity: 0.85 }, feedback: 'Fine.' });
    const job = await sut.publishJob({ output, gates: [judge()], policy, model: 'gpt-4.1-mini' });
    const verdict = await sut.verdictFor(job);
    expect(verdict).toMatchObject({ verdict: 'accept', score: 0.9, categories: { accuracy: 0.9, clarity: 0.85 }, stop: 'accepted' });
    expect(verdict.gates?.[0]).toMatchObject({ gate: 'judge', model: 'sim-judge', feedback: 'Fine.' });
    expect(verdict.judgeUsage?.inputTokens).toBeGreaterThan(0);

    const [request] = sut.judgeRequestsFor('A clear brief.');
    expect(request).toMatchObject({ model: 'sim-judge', status: 200, responseFormat: { type: 'json_schema', json_schema: { name: 'judge_verdict', strict: true } } });
    const schema = (request!.responseFormat as { json_schema: { schema: { required: string[]; properties: { categories: { required: string[] } } } } }).json_schema.schema;
    expect(schema.required).toEqual(['score', 'categories', 'violations', 'feedback']);
    expect(schema.properties.categories.required).toEqual(['accuracy', 'clarity']);
    expect(request!.messages[1]!.content).toContain('<rubric>\nAccurate, clear and complete.\n</rubric>');
    expect(request!.messages[1]!.content).toContain('<task>\nWrite a product brief.\n</task>');
  });

  it('asks a judge whose provider refuses response_format with the schema in the prompt, at once and from then on', async () => {
    sut.sim.configure({ noResponseFormat: ['sim-plain-judge'] });
    const first = await sut.publishJob({ output: candidate('Plain judge one.', { score: 0.9, categories: { accuracy: 0.9, clarity: 0.9 } }), gates: [judge({ model: 'sim-plain-judge' })], policy });
    expect(await sut.verdictFor(first)).toMatchObject({ verdict: 'accept', score: 0.9 });
    const [refused, instructed] = sut.judgeRequestsFor('Plain judge one.');
    expect(refused).toMatchObject({ status: 400, responseFormat: { type: 'json_schema' } });
    expect(instructed).toMatchObject({ status: 200, responseFormat: null });
    expect(instructed!.messages.at(-1)!.content).toContain('The JSON must be valid against this JSON Schema');
    // The refusal is remembered: the next judge call goes straight to instructions.
    const second = await sut.publishJob({ output: candidate('Plain judge two.', { score: 0.95, categories: { accuracy: 1, clarity: 0.9 } }), gates: [judge({ model: 'sim-plain-judge' })], policy });
    expect(await sut.verdictFor(second)).toMatchObject({ verdict: 'accept', score: 0.95 });
    expect(sut.judgeRequestsFor('Plain judge two.').map((r) => [r.status, r.responseFormat])).toEqual([[200, null]]);
  });

  it('uses the gate\'s own judge model over the job\'s default', async () => {
    const job = await sut.publishJob({ output: candidate('Per-gate model.', { score: 1, categories: { accuracy: 1, clarity: 1 } }), gates: [judge({ model: 'gpt-4.1' })], policy, judgeModel: 'gpt-4o-mini' });
    await sut.verdictFor(job);
    expect(sut.judgeRequestsFor('Per-gate model.').map((r) => r.model)).toEqual(['gpt-4.1']);
  });

  it('retries round 1 with feedback from the violations and the judge, then accepts round 2', async () => {
    const round1 = await sut.publishJob({
      output: candidate('Draft one.', { score: 0.6, categories: { accuracy: 0.5, clarity: 0.8 }, violations: [major('the price is wrong')], feedback: 'Use the price from the source.' }),
      gates: [judge(), { not_contains: 'As an AI' }],
      policy,
    });
    const first = await sut.verdictFor(round1);
    expect(first).toMatchObject({ verdict: 'retry', iteration: 1, best: { iteration: 1 } });
    expect(first.stop).toBeUndefined();
    expect(first.feedback).toContain('- [major] judge.accuracy: the price is wrong');
    expect(first.feedback).toContain('accuracy 0.50');
    expect(first.feedback).toContain('Use the price from the source.');

    const round2 = await sut.publishJob({
      runId: round1.runId,
      stepId: round1.stepId,
      attempt: 2,
      iteration: 2,
      output: candidate('Draft two.', { score: 0.9, categories: { accuracy: 0.9, clarity: 0.9 } }),
      gates: round1.gates,
      policy,
      history: [{ iteration: 1, attempt: 1, score: first.score }],
    });
    expect(await sut.verdictFor(round2)).toMatchObject({ verdict: 'accept', iteration: 2, stop: 'accepted', best: { iteration: 2, attempt: 2 } });
  });

  it('ends a stagnating loop early and names the best candidate', async () => {
    const job = await sut.publishJob({
      attempt: 2,
      iteration: 2,
      output: candidate('Barely different.', { score: 0.58, categories: { accuracy: 0.6, clarity: 0.6 } }),
      gates: [judge()],
      policy,
      history: [{ iteration: 1, attempt: 1, score: 0.6 }],
    });
    const verdict = await sut.verdictFor(job);
    expect(verdict).toMatchObject({ verdict: 'reject', stop: 'stagnated', best: { iteration: 1, attempt: 1, score: 0.6 }, reviseBest: true });
    expect(verdict.reason).toContain('less than 0.05');
  });

  it('blocks acceptance on a critical violation whatever the score', async () => {
    const job = await sut.publishJob({ output: candidate('As an AI, here is the brief.', { score: 1, categories: { accuracy: 1, clarity: 1 } }), gates: [judge({ weight: 9 }), { not_contains: 'As an AI' }], policy });
    const verdict = await sut.verdictFor(job);
    expect(verdict).toMatchObject({ verdict: 'retry', score: 0.9 });
    expect(verdict.reason).toContain('critical violation: not_contains');
  });

  it('escalates once to the stronger model the planner names, and rejects a failing escalation round', async () => {
    const escalating = { ...policy, escalate: true };
    const last = await sut.publishJob({
      attempt: 3,
      iteration: 3,
      output: candidate('Third try.', { score: 0.7, categories: { accuracy: 0.7, clarity: 0.7 } }),
      gates: [judge()],
      policy: escalating,
      history: [{ iteration: 1, attempt: 1, score: 0.5 }, { iteration: 2, attempt: 2, score: 0.6 }],
      escalateTo: 'gpt-4.1',
    });
    const verdict = await sut.verdictFor(last);
    expect(verdict).toMatchObject({ verdict: 'escalate', stop: 'max_iterations', escalateTo: 'gpt-4.1' });
    expect(verdict.feedback).toContain('round 3) scored 0.70');

    const escalated = await sut.publishJob({
      runId: last.runId,
      stepId: last.stepId,
      attempt: 4,
      iteration: 4,
      output: candidate('Escalated try.', { score: 0.65, categories: { accuracy: 0.7, clarity: 0.6 } }),
      gates: [judge()],
      policy: escalating,
      history: [...last.history, { iteration: 3, attempt: 3, score: 0.7 }],
      escalated: true,
      model: 'gpt-4.1',
    });
    expect(await sut.verdictFor(escalated)).toMatchObject({ verdict: 'reject', stop: 'escalation_failed', best: { iteration: 3, score: 0.7 } });
  });

  it("checks the schema gate against the step's output schema", async () => {
    const outputSchema = { type: 'object', required: ['sections'], properties: { sections: { type: 'array', items: { type: 'string' } } } };
    const good = await sut.publishJob({ output: '{"sections":["a","b"]}', gates: ['schema'], outputSchema, policy });
    const bad = await sut.publishJob({ output: '{"sections":[1]}', gates: ['schema'], outputSchema, policy });
    expect(await sut.verdictFor(good)).toMatchObject({ verdict: 'accept', score: 1 });
    const rejected = await sut.verdictFor(bad);
    expect(rejected).toMatchObject({ verdict: 'retry', score: 0 });
    expect(rejected.violations).toEqual([{ rule: 'schema', severity: 'critical', message: expect.stringMatching(/^sections\.0: /) }]);
  });

  it("renders the run's judge template with its parameters, and its feedback template", async () => {
    const judgeTemplate = {
      name: 'house-judge',
      version: 3,
      body: [
        { role: 'system' as const, content: 'HOUSE JUDGE. Be harsh.' },
        { role: 'user' as const, content: 'Rubric: {{ inputs.rubric }} | Round {{ inputs.iteration }} | {{ inputs.candidate }}' },
      ],
      parameters: { temperature: 0.4, seed: 5 },
    };
    const feedbackTemplate = { name: 'house-feedback', version: 2, body: 'Round {{ inputs.iteration }} scored {{ inputs.score }}: {{ inputs.reviews | join: " " }}', parameters: {} };
    const job = await sut.publishJob({ output: candidate('House rules.', { score: 0.5, categories: { accuracy: 0.5, clarity: 0.5 }, feedback: 'More detail.' }), gates: [judge()], policy, judgeTemplate, feedbackTemplate });
    expect(await sut.verdictFor(job)).toMatchObject({ verdict: 'retry', feedback: 'Round 1 scored 0.50: More detail.' });
    const [request] = sut.judgeRequestsFor('House rules.');
    expect(request!.messages[0]).toEqual({ role: 'system', content: 'HOUSE JUDGE. Be harsh.' });
    expect(request!.messages[1]!.content).toMatch(/^Rubric: Accurate, clear and complete\. \| Round 1 \| House rules\./);
    expect(request!.parameters).toEqual({ temperature: 0.4, seed: 5 });
  });

  it('tells the next round to keep the reusable fields no violation or feedback names, and writes a named one again', async () => {
    const outputSchema = { type: 'object', properties: { title: { type: 'string' }, examples: { type: 'array' } } };
    const kept = await sut.publishJob({
      output: candidate('{"title":"Vague","examples":["a"]}', { score: 0.5, categories: { accuracy: 0.5, clarity: 0.5 }, violations: [major('the title is vague')], feedback: 'Sharpen the title.' }),
      gates: [judge()],
      policy,
      outputSchema,
      reuse: ['examples'],
    });
    const keep = await sut.verdictFor(kept);
    expect(keep).toMatchObject({ verdict: 'retry', reusedFields: ['examples'] });
    expect(keep.feedback).toContain('Keep examples as they are: answer with title only.');
    const named = await sut.publishJob({
      output: candidate('{"title":"T","examples":["wrong"]}', { score: 0.5, categories: { accuracy: 0.5, clarity: 0.5 }, feedback: 'The examples contradict the title.' }),
      gates: [judge()],
      policy,
      outputSchema,
      reuse: ['examples'],
    });
    const again = await sut.verdictFor(named);
    expect(again.verdict).toBe('retry');
    expect(again.reusedFields).toBeUndefined();
    expect(again.feedback).not.toContain('Keep examples');
  });

  it('fails the step at once when the judge template cannot be rendered', async () => {
    const job = await sut.publishJob({
      output: 'Unrenderable judge.',
      gates: [judge()],
      policy,
      judgeTemplate: { name: 'broken-judge', version: 1, body: 'Judge {{ inputs.candidate | no_such_filter }}', parameters: {} },
    });
    const failed = await sut.failedFor(job);
    expect(failed.error).toMatchObject({ code: 'verification_failed', retryable: false });
    expect(failed.error.message).toContain('judge template broken-judge v1 cannot be rendered');
    expect(sut.judgeRequestsFor('Unrenderable judge.')).toEqual([]);
  });

  it('retries a malformed judge answer, then fails the step once deliveries run out', async () => {
    const job = await sut.publishJob({ output: 'Unjudgeable. <<judge-raw {"score": "high"}>>', gates: [judge()], policy });
    const failed = await sut.failedFor(job);
    expect(failed.error).toMatchObject({ code: 'verification_failed', retryable: false });
    expect(failed.error.message).toContain("the judge's answer does not fit the verdict schema");
    expect(sut.judgeRequestsFor('Unjudgeable.')).toHaveLength(2);
    expect(sut.verified.find((e) => e.stepId === job.stepId)).toBeUndefined();
  });

  it('dead-letters a job that breaks its contract and keeps serving the next', async () => {
    await sut.nc.request(subjects(sut.ns).verifyWork, new TextEncoder().encode('{"not":"an event"}')).catch(() => undefined);
    const job = await sut.publishJob({ output: '{}', gates: ['json'], policy });
    expect(await sut.verdictFor(job)).toMatchObject({ verdict: 'accept' });
  });
});
