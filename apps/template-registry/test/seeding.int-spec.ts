import { RegistryRpc } from '@trellis/contracts';
import { BUILT_IN_TEMPLATES } from '@trellis/engine';
import { startRegistry, type RegistryUnderTest } from './registry-process';

/**
 * The orchestrator's own prompts are global templates the registry seeds at its first start:
 * version 1, labelled production. Seeding is idempotent and never undoes a change.
 */
describe('template-registry: built-in templates', () => {
  let sut: RegistryUnderTest;
  const P = 'acme';
  const globals = async () =>
    (await sut.rpc.call(RegistryRpc.listTemplates, { project: P })).items
      .filter((t) => t.level === 'global')
      .map((t) => ({ name: t.name, category: t.category, latest: t.latest, labels: t.labels }))
      .sort((a, b) => a.name.localeCompare(b.name));

  beforeAll(async () => {
    sut = await startRegistry();
  }, 60_000);
  afterAll(() => sut?.stop());

  it('seeds the judge, feedback and analysis prompts and the standard personality as global templates, version 1 in production', async () => {
    expect(await globals()).toEqual([
      { name: 'standard', category: 'personality', latest: 1, labels: { production: 1 } },
      { name: 'trellis.analysis', category: 'orchestration', latest: 1, labels: { production: 1 } },
      { name: 'trellis.feedback', category: 'orchestration', latest: 1, labels: { production: 1 } },
      { name: 'trellis.judge', category: 'judge', latest: 1, labels: { production: 1 } },
    ]);
    const judge = await sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'trellis.judge' });
    expect(judge.template.versions[0]).toMatchObject({ version: 1, body: BUILT_IN_TEMPLATES.find((t) => t.name === 'trellis.judge')!.body, parameters: { temperature: 0 }, author: 'trellis' });
    expect(judge.template.versions[0]!.variables).toEqual(['candidate', 'categories', 'rubric', 'task']);
  });

  it('changes nothing when started again, after a new global version and a moved label', async () => {
    await sut.restart();
    const once = await globals();
    expect(once.every((t) => t.latest === 1)).toBe(true);

    await sut.rpc.call(RegistryRpc.createTemplate, { project: P, admin: true, level: 'global', category: 'judge', name: 'trellis.judge', body: 'Judge {{ inputs.candidate }} by {{ inputs.rubric }}.' });
    await sut.rpc.call(RegistryRpc.createTemplate, { project: P, admin: true, level: 'global', category: 'personality', name: 'standard', body: 'You are terse.' });
    await sut.rpc.call(RegistryRpc.moveLabel, { project: P, admin: true, level: 'global', name: 'standard', label: 'production', version: 2 });
    const changed = await globals();

    await sut.restart();
    expect(await globals()).toEqual(changed);
    expect(changed.find((t) => t.name === 'trellis.judge')).toMatchObject({ latest: 2, labels: { production: 1 } });
    expect(changed.find((t) => t.name === 'standard')).toMatchObject({ latest: 2, labels: { production: 2 } });
  }, 60_000);
});
