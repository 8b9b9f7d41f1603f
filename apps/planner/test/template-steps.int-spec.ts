import { RegistryRpc, RunCompleted } from '@trellis/contracts';
import { PlannerHarness } from './planner-harness';

/**
 * Template steps: the planner pins the registry's version at run start (the registry runs
 * as its own process beside the planner) and hands it to the executor with the step's
 * `with:` and the context that `with:` renders against.
 */
describe('planner: template steps', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
    await h.call(RegistryRpc.createTemplate, { admin: false, name: 'summary', body: 'Summarise: {{ inputs.text }}' });
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const spec = (withText: string) => ({
    version: 1,
    name: 'summaries',
    steps: {
      a: { prompt: 'Write the source text.' },
      b: { prompt: 'Comment on {{ steps.a.output }}', depends_on: ['a'] },
      c: { template: 'summary', with: { text: withText }, depends_on: ['b'] },
    },
  });

  it("sends a template step the pinned version, its `with:` and its direct dependency's output", async () => {
    const run = await h.startInline(spec('{{ steps.b.output }}'));
    // The step's template, and the personality every model step has (`standard`, seeded by the registry).
    expect(run.templates).toEqual([
      expect.objectContaining({ ref: 'standard', category: 'personality', level: 'global', version: 1 }),
      expect.objectContaining({ ref: 'summary', name: 'summary', category: 'prompt', version: 1 }),
    ]);
    await h.generated(await h.job(run.id, 'a'), { output: 'the source' });
    await h.generated(await h.job(run.id, 'b'), { output: 'the comment' });
    const c = await h.job(run.id, 'c');
    expect(c.template).toEqual({ name: 'summary', version: 1, body: 'Summarise: {{ inputs.text }}', with: { text: '{{ steps.b.output }}' } });
    expect(c.system).toBe('You are a careful, precise assistant. Answer the task directly, without preamble.');
    expect(c.context.steps).toMatchObject({ b: { output: 'the comment' } });
    await h.generated(c);
    expect(await h.event(RunCompleted, run.id)).toMatchObject({ status: 'succeeded' });
  });

  // Issue 17, point 2: the outputs a step's job carries come from the compiler's one collector
  // of Liquid texts, `with:` leaves included, so an indirect upstream output that only a
  // template step's `with:` names reaches its job.
  it('gives a template step whose `with:` reads an indirect upstream output that output in its context', async () => {
    const run = await h.startInline(spec('{{ steps.a.output }}'));
    await h.generated(await h.job(run.id, 'a'), { output: 'the source' });
    await h.generated(await h.job(run.id, 'b'), { output: 'the comment' });
    const c = await h.job(run.id, 'c');
    expect(c.template?.with).toEqual({ text: '{{ steps.a.output }}' });
    expect(c.context.steps).toMatchObject({ a: { output: 'the source' } });
  });
});
