import { randomUUID } from 'node:crypto';
import { ExperimentOutcome, messageIds, RegistryRpc, subjects } from '@trellis/contracts';
import { EventPublisher } from '@trellis/messaging';
import { rpcError, waitFor } from '@trellis/testing';
import { startRegistry, type RegistryUnderTest } from './registry-process';

/**
 * A/B experiments end to end inside the registry: sticky weighted assignment at resolve time,
 * results fed by the planner's experiment outcomes on the work stream, significance, and promotion.
 */
describe('template-registry experiments', () => {
  let sut: RegistryUnderTest;
  let events: EventPublisher;
  const P = 'acme';
  const SUBJECTS = 200;

  beforeAll(async () => {
    sut = await startRegistry();
    events = new EventPublisher(sut.nc, { source: 'trellis/test' });
    for (const body of ['Pitch {{ inputs.product }}.', 'Pitch {{ inputs.product }} in one vivid sentence.', 'Unused third']) {
      await sut.rpc.call(RegistryRpc.createTemplate, { project: P, name: 'pitch', body });
    }
  }, 60_000);
  afterAll(() => sut?.stop());

  /** Runs assigned per experiment and variant, as the registry should count them. */
  const runsAssigned = new Map<string, Set<string>>();
  const resolve = async (subject: string, runId: string = randomUUID()) => {
    const t = (await sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, subject, runId, refs: [{ name: 'pitch', steps: ['write'] }] })).templates[0]!;
    if (t.experiment) {
      const key = `${t.experiment.id}/${t.experiment.variant}`;
      runsAssigned.set(key, (runsAssigned.get(key) ?? new Set()).add(runId));
    }
    return { runId, t };
  };

  it('needs the admin token to start an experiment (it diverts what production serves), and checks its variants', async () => {
    const variants = [
      { name: 'a', version: 1 },
      { name: 'b', version: 2 },
    ];
    expect((await rpcError(sut.rpc.call(RegistryRpc.createExperiment, { project: P, template: 'pitch', variants }))).code).toBe('failed_precondition');
    const bad = await rpcError(sut.rpc.call(RegistryRpc.createExperiment, { project: P, admin: true, template: 'pitch', variants: [{ name: 'a', version: 1 }, { name: 'b', version: 7 }] }));
    expect(bad.code).toBe('invalid_argument');
    expect(bad.issues?.[0]?.path).toEqual(['variants', 1, 'version']);
    const dup = await rpcError(sut.rpc.call(RegistryRpc.createExperiment, { project: P, admin: true, template: 'pitch', variants: [{ name: 'a', version: 1 }, { name: 'a', version: 2 }] }));
    expect(dup.code).toBe('invalid_argument');
  });

  describe('a 50/50 experiment over 200 subjects', () => {
    let experimentId: string;
    const assigned = new Map<string, { runId: string; variant: string; version: number }>();

    beforeAll(async () => {
      const created = await sut.rpc.call(RegistryRpc.createExperiment, {
        project: P,
        admin: true,
        template: 'pitch',
        variants: [
          { name: 'a', version: 1, weight: 1 },
          { name: 'b', version: 2, weight: 1 },
        ],
      });
      experimentId = created.id;
      expect(created).toMatchObject({ status: 'running', template: 'pitch', level: 'project' });
      for (let i = 0; i < SUBJECTS; i++) {
        const { runId, t } = await resolve(`user-${i}`);
        assigned.set(`user-${i}`, { runId, variant: t.experiment!.variant, version: t.version });
      }
    });

    it('assigns both variants within binomial expectations (3 standard deviations)', () => {
      const a = [...assigned.values()].filter((x) => x.variant === 'a').length;
      const sd = Math.sqrt(SUBJECTS * 0.5 * 0.5);
      expect(Math.abs(a - SUBJECTS / 2)).toBeLessThanOrEqual(3 * sd);
      for (const x of assigned.values()) expect(x.version).toBe(x.variant === 'a' ? 1 : 2);
    });

    it('gives the same subject the same variant every time, and the same run its recorded variant', async () => {
      for (let i = 0; i < 40; i++) {
        const { t } = await resolve(`user-${i}`);
        expect(t.experiment).toEqual({ id: experimentId, variant: assigned.get(`user-${i}`)!.variant });
      }
      const first = assigned.get('user-0')!;
      const other = [...assigned.entries()].find(([, x]) => x.variant !== first.variant)![0];
      const again = await resolve(other, first.runId);
      expect(again.t.experiment!.variant).toBe(first.variant);
    });

    it('answers a pinned reference without the experiment', async () => {
      const res = await sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, subject: 'user-1', runId: randomUUID(), refs: [{ name: 'pitch', selector: '3' }] });
      expect(res.templates[0]).toMatchObject({ version: 3, experiment: null });
    });

    it('refuses a second running experiment on the same template', async () => {
      const err = await rpcError(sut.rpc.call(RegistryRpc.createExperiment, { project: P, admin: true, template: 'pitch', variants: [{ name: 'x', version: 1 }, { name: 'y', version: 3 }] }));
      expect(err.code).toBe('conflict');
    });

    it('reports per-variant acceptance and mean score from the outcomes the planner sends, with significance', async () => {
      const s = subjects(sut.namespace);
      const expected = { a: { n: 0, accepted: 0, scores: [] as number[] }, b: { n: 0, accepted: 0, scores: [] as number[] } };
      const published: Array<Promise<unknown>> = [];
      let k = 0;
      for (const { runId, variant } of assigned.values()) {
        // Variant a is accepted 4 times in 5, b 2 times in 5; accepted answers score higher.
        const accept = variant === 'a' ? k % 5 !== 0 : k % 5 < 2;
        const score = accept ? (variant === 'a' ? 0.9 : 0.85) : 0.4;
        k++;
        const e = expected[variant as 'a' | 'b'];
        e.n++;
        if (accept) e.accepted++;
        e.scores.push(score);
        // What the planner sends for a run in an experiment: a rejected first attempt, then the
        // verdict that counts; a step that does not render the template; the run's end.
        const outcome = (version: number, data: Omit<ExperimentOutcome, 'runId'>) =>
          events.publish(ExperimentOutcome, { runId, ...data }, { subject: s.experimentWork, id: messageIds.experimentOutcome(runId, version) });
        published.push(outcome(2, { steps: [{ stepId: 'write', attempt: 1, verdict: 'retry', score: 0.1 }] }));
        published.push(outcome(4, { steps: [{ stepId: 'write', attempt: 2, verdict: accept ? 'accept' : 'reject', score }, { stepId: 'unrelated', attempt: 1, verdict: 'reject', score: 0 }] }));
        published.push(
          outcome(5, {
            steps: [{ stepId: 'write', attempt: 2, status: accept ? 'succeeded' : 'failed' }],
            run: { status: accept ? 'succeeded' : 'failed', usage: { inputTokens: 100, outputTokens: variant === 'a' ? 50 : 30 }, cost: variant === 'a' ? 0.02 : 0.01, durationMs: 1000 },
          }),
        );
      }
      await Promise.all(published);

      const view = await waitFor(
        'every verdict and run outcome to be counted',
        async () => {
          const v = await sut.rpc.call(RegistryRpc.getExperiment, { project: P, id: experimentId });
          const verified = v.results.reduce((sum, r) => sum + r.stepsVerified, 0);
          const completed = v.results.reduce((sum, r) => sum + r.runsCompleted, 0);
          const iterations = v.results.every((r) => r.meanIterations === 2);
          return verified === SUBJECTS && completed === SUBJECTS && iterations ? v : undefined;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      for (const name of ['a', 'b'] as const) {
        const r = view.results.find((x) => x.name === name)!;
        const e = expected[name];
        expect(r.runs).toBe(runsAssigned.get(`${experimentId}/${name}`)!.size);
        expect(r).toMatchObject({ stepsVerified: e.n, stepsAccepted: e.accepted, runsCompleted: e.n, runsSucceeded: e.accepted, meanInputTokens: 100, meanLatencyMs: 1000 });
        expect(r.acceptanceRate).toBeCloseTo(e.accepted / e.n, 9);
        expect(r.meanScore).toBeCloseTo(mean(e.scores), 9);
        expect(r.meanOutputTokens).toBe(name === 'a' ? 50 : 30);
        expect(r.meanCost).toBeCloseTo(name === 'a' ? 0.02 : 0.01, 9);
      }
      const [comparison] = view.comparisons;
      expect(comparison).toMatchObject({ variant: 'b', control: 'a' });
      expect(comparison!.acceptanceDiff!).toBeLessThan(0);
      expect(comparison!.acceptancePValue!).toBeLessThan(0.001);
      expect(comparison!.scorePValue!).toBeLessThan(0.001);
      expect(view.winner).toBe('a');
    });

    it('promotes the winner to production, stops the experiment, and unpinned runs then get production', async () => {
      expect((await rpcError(sut.rpc.call(RegistryRpc.promoteExperiment, { project: P, id: experimentId }))).code).toBe('failed_precondition');
      const promoted = await sut.rpc.call(RegistryRpc.promoteExperiment, { project: P, admin: true, id: experimentId });
      expect(promoted).toMatchObject({ status: 'stopped', promoted: { variant: 'a', version: 1 } });
      const after = await resolve('user-1');
      expect(after.t).toMatchObject({ version: 1, label: 'production', experiment: null });
      expect((await rpcError(sut.rpc.call(RegistryRpc.updateExperiment, { project: P, admin: true, id: experimentId, status: 'running' }))).code).toBe('failed_precondition');
    });
  });

  it('starts a draft, promotes a named variant, and keeps experiments to their project', async () => {
    const draft = await sut.rpc.call(RegistryRpc.createExperiment, {
      project: P,
      status: 'draft',
      template: 'pitch',
      variants: [
        { name: 'short', version: 2, weight: 3 },
        { name: 'long', version: 3, weight: 1 },
      ],
    });
    expect(draft.status).toBe('draft');
    expect((await resolve('user-1')).t.experiment).toBeNull();
    const running = await sut.rpc.call(RegistryRpc.updateExperiment, { project: P, admin: true, id: draft.id, status: 'running' });
    expect(running.startedAt).not.toBeNull();
    expect((await resolve('user-1')).t.experiment?.id).toBe(draft.id);
    const twice = await sut.rpc.call(RegistryRpc.resolveTemplates, {
      project: P,
      subject: 'user-7',
      runId: randomUUID(),
      refs: [
        { name: 'pitch', steps: ['intro'] },
        { name: 'pitch', steps: ['outro'] },
      ],
    });
    expect(twice.templates).toHaveLength(2);
    expect(twice.templates[0]!.experiment).toEqual(twice.templates[1]!.experiment);
    const promoted = await sut.rpc.call(RegistryRpc.promoteExperiment, { project: P, admin: true, id: draft.id, variant: 'long' });
    expect(promoted.promoted).toMatchObject({ variant: 'long', version: 3 });
    expect((await sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'pitch' })).template.labels.production).toBe(3);
    expect((await rpcError(sut.rpc.call(RegistryRpc.getExperiment, { project: 'other', id: draft.id }))).code).toBe('not_found');
    const list = await sut.rpc.call(RegistryRpc.listExperiments, { project: P, template: 'pitch' });
    expect(list.items.map((e) => e.id)).toContain(draft.id);
  });

  it('shows each project only its own runs of an experiment on a global template', async () => {
    await sut.rpc.call(RegistryRpc.createTemplate, { project: P, admin: true, level: 'global', name: 'shared-pitch', body: 'Pitch {{ inputs.product }}' });
    await sut.rpc.call(RegistryRpc.createTemplate, { project: P, admin: true, level: 'global', name: 'shared-pitch', body: 'Pitch {{ inputs.product }} in one line' });
    const experiment = await sut.rpc.call(RegistryRpc.createExperiment, {
      project: P,
      admin: true,
      level: 'global',
      template: 'shared-pitch',
      variants: [
        { name: 'plain', version: 1 },
        { name: 'short', version: 2 },
      ],
    });
    const runsOf = async (project: string, n: number) => {
      for (let i = 0; i < n; i++) await sut.rpc.call(RegistryRpc.resolveTemplates, { project, subject: `${project}-${i}`, runId: randomUUID(), refs: [{ name: 'shared-pitch' }] });
    };
    await runsOf(P, 3);
    await runsOf('other-team', 2);
    const total = (v: { results: Array<{ runs: number }> }) => v.results.reduce((n, x) => n + x.runs, 0);
    expect(total(await sut.rpc.call(RegistryRpc.getExperiment, { project: P, id: experiment.id }))).toBe(3);
    expect(total(await sut.rpc.call(RegistryRpc.getExperiment, { project: 'other-team', id: experiment.id }))).toBe(2);
  });
});
