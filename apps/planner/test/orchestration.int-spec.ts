import { PlannerRpc, RegistryRpc, RunCompleted, subjects, type RunView } from '@trellis/contracts';
import { rpcError, waitFor } from '@trellis/testing';
import { PlannerHarness } from './planner-harness';

/**
 * The orchestration's own templates and strategy experiments, between the planner and the
 * real registry (ADR 0012): every run pins its personality, judge and feedback prompts as it
 * pins its template steps', the jobs carry them with the parameters in effect, and a strategy
 * experiment switches a run to its variant's spec by subject.
 */
describe('planner: orchestration templates and strategy experiments', () => {
  let h: PlannerHarness;

  beforeAll(async () => {
    h = await PlannerHarness.start();
  }, 60_000);
  afterAll(() => h?.stop(), 30_000);

  const judged = (name: string) => ({
    version: 1,
    name,
    steps: { draft: { prompt: 'Pitch the kettle', model: 'gpt-4.1-mini', verify: { gates: [{ judge: { rubric: 'Concrete.' } }] } } },
  });

  it("pins the built-in personality, judge and feedback prompts and hands them to the executor and the verifier; a project's override wins for that project only", async () => {
    const run = await h.startInline(judged('pins'));
    expect(run.templates.map((t) => [t.ref, t.category, t.level, t.version, t.label])).toEqual([
      ['standard', 'personality', 'global', 1, 'production'],
      ['trellis.judge', 'judge', 'global', 1, 'production'],
      ['trellis.feedback', 'orchestration', 'global', 1, 'production'],
    ]);
    const job = await h.job(run.id, 'draft');
    expect(job.system).toBe('You are a careful, precise assistant. Answer the task directly, without preamble.');
    await h.generated(job, { output: 'A kettle.' });
    expect(await h.verifyJob(run.id, 'draft')).toMatchObject({
      judgeTemplate: { name: 'trellis.judge', version: 1, parameters: { temperature: 0 } },
      feedbackTemplate: { name: 'trellis.feedback', version: 1 },
    });

    const override = await h.call(RegistryRpc.createTemplate, { admin: false, category: 'judge', name: 'trellis.judge', body: 'Grade {{ inputs.candidate }} against {{ inputs.rubric }}.', parameters: { model: 'sim-judge', temperature: 0.2 } });
    expect(override.template.level).toBe('project');
    const overridden = await h.startInline(judged('pins'));
    expect(overridden.templates.find((t) => t.category === 'judge')).toMatchObject({ level: 'project', version: 1, label: 'latest' });
    await h.generated(await h.job(overridden.id, 'draft'), { output: 'A kettle.' });
    expect(await h.verifyJob(overridden.id, 'draft')).toMatchObject({
      judgeModel: 'sim-judge',
      judgeTemplate: { body: 'Grade {{ inputs.candidate }} against {{ inputs.rubric }}.', parameters: { temperature: 0.2 } },
    });
    const elsewhere = await h.call(PlannerRpc.startRun, { project: 'other', source: { json: judged('pins') } });
    expect(elsewhere.templates.find((t) => t.category === 'judge')).toMatchObject({ level: 'global' });
  });

  it('asks the registry once for runs that assign nothing, and again after the registry changed', async () => {
    const resolves: string[] = [];
    const spy = h.nc.subscribe(subjects(h.ns).rpc('registry', 'templates.resolve'), { callback: (_, m) => void resolves.push(m.subject) });
    try {
      await h.call(RegistryRpc.createTemplate, { admin: false, name: 'greeting', body: 'Hello v1.' });
      const spec = { version: 1, name: 'kept', steps: { say: { template: 'greeting' } } };
      const first = await h.startInline(spec);
      const second = await h.startInline(spec);
      expect([first, second].map((r) => r.templates.find((t) => t.name === 'greeting')?.version)).toEqual([1, 1]);
      // The second start was answered by what the planner kept.
      expect(resolves).toHaveLength(1);
      await h.call(RegistryRpc.createTemplate, { admin: false, name: 'greeting', body: 'Hello v2.' });
      const after = await waitFor('the planner to see the registry change', async () => {
        const run = await h.startInline(spec);
        return run.templates.find((t) => t.name === 'greeting')?.version === 2 ? run : undefined;
      });
      expect(after.templates.find((t) => t.name === 'greeting')).toMatchObject({ name: 'greeting', version: 2 });
    } finally {
      spy.unsubscribe();
    }
  });

  it("refuses a run whose judge template reads a variable the judge does not provide, naming the field", async () => {
    await h.call(RegistryRpc.createTemplate, { admin: false, category: 'judge', name: 'nosy-judge', body: 'Judge {{ inputs.secret }}.' });
    const refused = await rpcError(h.startInline({ ...judged('nosy'), steps: { draft: { ...judged('nosy').steps.draft, verify: { gates: [{ judge: { rubric: 'r' } }], judge: { template: 'nosy-judge' } } } } }));
    expect(refused).toMatchObject({ code: 'invalid_argument', issues: [{ path: ['steps', 'draft', 'verify', 'judge', 'template'], message: expect.stringContaining('reads inputs.secret') }] });
  });

  it("sends a template version's parameters under the step's own, and shows them on the run", async () => {
    await h.call(RegistryRpc.createTemplate, { admin: false, name: 'cool', body: 'Say {{ inputs.what }}.', parameters: { temperature: 0.1, top_p: 0.5, max_tokens: 300 } });
    const run = await h.startInline({ version: 1, name: 'params', steps: { say: { template: 'cool', with: { what: 'hi' }, max_tokens: 50 } } });
    expect((await h.job(run.id, 'say')).params).toEqual({ temperature: 0.1, topP: 0.5, maxTokens: 50 });
    expect(run.steps[0]!.parameters).toEqual({ temperature: 0.1, top_p: 0.5, max_tokens: 50 });
  });

  describe('strategy experiments', () => {
    const experts = (prompt: string) => ({
      version: 1,
      name: 'strategic',
      experts: { writing: ['gpt-4.1', 'gpt-4o-mini'] },
      selection: 'performance',
      steps: { write: { expert: 'writing', prompt } },
    });
    const runFor = (subject: string) => h.call(PlannerRpc.startRun, { pipeline: 'strategic', subject });
    const finish = async (run: RunView) => {
      await h.generated(await h.job(run.id, 'write'));
      await h.event(RunCompleted, run.id);
    };

    beforeAll(async () => {
      await h.call(PlannerRpc.registerPipeline, { source: { json: experts('Write v1.') } });
      await h.call(PlannerRpc.registerPipeline, { source: { json: experts('Write v2.') } });
    }, 30_000);

    it('refuses an experiment on a pipeline version that does not exist', async () => {
      const bad = await rpcError(h.call(RegistryRpc.createExperiment, { kind: 'pipeline', pipeline: 'strategic', variants: [{ name: 'old', version: 1 }, { name: 'ghost', version: 9 }] }));
      expect(bad).toMatchObject({ code: 'invalid_argument', issues: [{ path: ['variants', 1, 'version'] }] });
    });

    it('runs each subject on its selection mode, sticky, reports per-variant results and promotes the winner as a new version', async () => {
      const experiment = await h.call(RegistryRpc.createExperiment, {
        kind: 'selection',
        pipeline: 'strategic',
        variants: [
          { name: 'strong', selection: 'performance' },
          { name: 'cheap', selection: 'cost' },
        ],
      });
      expect(experiment).toMatchObject({ kind: 'selection', pipeline: 'strategic', template: null, status: 'running' });
      const runs = await Promise.all(Array.from({ length: 8 }, (_, i) => runFor(`user-${i}`)));
      const byVariant = new Map<string, string[]>();
      for (const run of runs) {
        expect(run.strategies).toEqual([{ experiment: { id: experiment.id, variant: expect.stringMatching(/^(strong|cheap)$/) }, variant: { kind: 'selection', selection: expect.any(String) } }]);
        const variant = run.strategies[0]!.experiment.variant;
        byVariant.set(variant, [...(byVariant.get(variant) ?? []), run.steps[0]!.model]);
        expect(run.pipelineVersion).toBe(2);
      }
      expect([...new Set(byVariant.get('strong'))]).toEqual(['gpt-4.1']);
      expect([...new Set(byVariant.get('cheap'))]).toEqual(['gpt-4o-mini']);
      expect((await runFor('user-0')).strategies[0]!.experiment.variant).toBe(runs[0]!.strategies[0]!.experiment.variant);

      await Promise.all(runs.map(finish));
      const results = await waitFor('every run counted', async () => {
        const view = await h.call(RegistryRpc.getExperiment, { id: experiment.id });
        return view.results.reduce((n, r) => n + r.runsCompleted, 0) === runs.length ? view : undefined;
      });
      for (const r of results.results) expect(r).toMatchObject({ runs: expect.any(Number), runsSucceeded: r.runsCompleted, meanOutputTokens: 5 });

      const promoted = await h.call(RegistryRpc.promoteExperiment, { id: experiment.id, variant: 'cheap' });
      expect(promoted).toMatchObject({ status: 'stopped', promoted: { variant: 'cheap', version: 3 } });
      const latest = await h.call(PlannerRpc.getPipeline, { name: 'strategic' });
      expect(latest).toMatchObject({ version: 3, spec: { selection: 'cost', steps: { write: { prompt: 'Write v2.' } } } });
      // Promoting again registers nothing new.
      expect((await h.call(RegistryRpc.promoteExperiment, { id: experiment.id, variant: 'cheap' })).promoted).toMatchObject({ version: 3 });
    });

    it('runs each subject on the registered version its variant names', async () => {
      const experiment = await h.call(RegistryRpc.createExperiment, { kind: 'pipeline', pipeline: 'strategic', variants: [{ name: 'first', version: 1 }, { name: 'latest', version: 3 }] });
      const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => runFor(`person-${i}`)));
      for (const run of runs) {
        const variant = run.strategies.find((s) => s.experiment.id === experiment.id)!.experiment.variant;
        expect(run.pipelineVersion).toBe(variant === 'first' ? 1 : 3);
        expect((await h.job(run.id, 'write')).prompt).toBe(variant === 'first' ? 'Write v1.' : 'Write v2.');
      }
      await h.call(RegistryRpc.updateExperiment, { id: experiment.id, status: 'stopped' });
    });

    it("applies a policy variant to every gated step's loop", async () => {
      const gated = { version: 1, name: 'looped', steps: { draft: { prompt: 'Draft.', model: 'gpt-4.1-mini', verify: { gates: [{ contains: 'x' }], iterate: { max: 2 } } } } };
      await h.call(PlannerRpc.registerPipeline, { source: { json: gated } });
      const experiment = await h.call(RegistryRpc.createExperiment, { kind: 'policy', pipeline: 'looped', variants: [{ name: 'short', policy: { max: 1 } }, { name: 'long', policy: { max: 5, accept_at: 0.9 } }] });
      for (const subject of ['s1', 's2', 's3', 's4']) {
        const run = await h.call(PlannerRpc.startRun, { pipeline: 'looped', subject });
        const variant = run.strategies[0]!.experiment.variant;
        await h.generated(await h.job(run.id, 'draft'), { output: 'draft' });
        expect((await h.verifyJob(run.id, 'draft')).policy).toMatchObject(variant === 'short' ? { maxIterations: 1, acceptAt: 0.8 } : { maxIterations: 5, acceptAt: 0.9 });
      }
      await h.call(RegistryRpc.updateExperiment, { id: experiment.id, status: 'stopped' });
    });
  });
});
