import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { RegistryRpc } from '@trellis/contracts';
import { rpcError } from '@trellis/testing';
import { startRegistry, type RegistryUnderTest } from './registry-process';

/** Versions, labels, the override hierarchy, rendering and resolution, over NATS as the planner and gateway ask. */
describe('template-registry templates', () => {
  let sut: RegistryUnderTest;
  const P = 'acme';

  beforeAll(async () => {
    sut = await startRegistry();
  }, 60_000);
  afterAll(() => sut?.stop());

  const create = (body: Partial<Parameters<typeof sut.rpc.call<typeof RegistryRpc.createTemplate>>[1]> & { name: string; body: unknown }) =>
    sut.rpc.call(RegistryRpc.createTemplate, { project: P, admin: false, ...body } as never);

  describe('versions', () => {
    it('numbers versions, extracts variables, and never changes an existing version', async () => {
      const v1 = await create({ name: 'greet', body: 'Hello {{ inputs.name }}', author: 'ana', message: 'first' });
      const v2 = await create({ name: 'greet', body: 'Hi {{ inputs.name }} from {{ inputs.city }}', parameters: { temperature: 0.2 } });
      expect(v1).toMatchObject({ created: true, version: { version: 1, variables: ['name'], author: 'ana', message: 'first' } });
      expect(v2).toMatchObject({ created: true, version: { version: 2, variables: ['city', 'name'], parameters: { temperature: 0.2 } } });
      const lookup = await sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'greet' });
      expect(lookup.template.versions.map((v) => [v.version, v.body])).toEqual([
        [2, 'Hi {{ inputs.name }} from {{ inputs.city }}'],
        [1, 'Hello {{ inputs.name }}'],
      ]);
      expect(lookup.template.versions[1]).toEqual(v1.version);
    });

    it('returns the newest version instead of minting an identical one', async () => {
      const again = await create({ name: 'greet', body: 'Hi {{ inputs.name }} from {{ inputs.city }}', parameters: { temperature: 0.2 } });
      expect(again).toMatchObject({ created: false, version: { version: 2 } });
      const changedParams = await create({ name: 'greet', body: 'Hi {{ inputs.name }} from {{ inputs.city }}', parameters: { temperature: 0.7 } });
      expect(changedParams).toMatchObject({ created: true, version: { version: 3 } });
    });

    it('numbers concurrent versions without gaps or collisions', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => create({ name: 'busy', body: `draft ${i} for {{ inputs.topic }}` })));
      expect(results.map((r) => r.version.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('stores chat templates and reads variables from every message', async () => {
      const res = await create({
        name: 'chat',
        category: 'personality',
        body: [
          { role: 'system', content: 'You are {{ inputs.persona }}.' },
          { role: 'user', content: '{{ inputs.question }}' },
        ],
      });
      expect(res.version.variables).toEqual(['persona', 'question']);
      expect(res.template.category).toBe('personality');
    });

    it('checks the body against the declared variables, naming each difference, and stores nothing', async () => {
      const err = await rpcError(create({ name: 'declared', body: 'Write about {{ inputs.topic }} for {{ inputs.audiense }}', variables: ['topic', 'audience'] }));
      expect(err.code).toBe('invalid_argument');
      expect(err.issues?.map((i) => i.message)).toEqual([
        'the body reads "inputs.audiense", which is not declared',
        '"audience" is declared but the body never reads inputs.audience',
      ]);
      expect((await rpcError(sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'declared' }))).code).toBe('not_found');
    });

    it('refuses a body that includes a file or reaches outside its inputs', async () => {
      for (const body of ["{% include '/etc/passwd' %}", "{% render 'package.json' %}", '{{ process.env }}', '{{ constructor }}']) {
        const err = await rpcError(create({ name: 'evil', body }));
        expect(err.code).toBe('invalid_argument');
      }
      expect((await rpcError(sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'evil' }))).code).toBe('not_found');
    });

    it('rejects a malformed request, naming the field', async () => {
      const err = await rpcError(sut.rpc.call(RegistryRpc.createTemplate, { project: P, name: 'Bad Name', body: 'x', category: 'poem' } as never));
      expect(err.code).toBe('invalid_argument');
      expect(err.issues?.map((i) => i.path.join('.')).sort()).toEqual(['category', 'name']);
    });

    it('keeps an override in the category of what it overrides', async () => {
      await create({ name: 'rubric', category: 'judge', body: 'Score it', level: 'global', admin: true });
      const err = await rpcError(create({ name: 'rubric', category: 'prompt', body: 'Score it better' }));
      expect(err).toMatchObject({ code: 'conflict' });
    });

    it('needs the admin token to write at the global level', async () => {
      expect((await rpcError(create({ name: 'shared', body: 'x', level: 'global' }))).code).toBe('failed_precondition');
    });
  });

  describe('labels', () => {
    beforeAll(async () => {
      for (const body of ['Summarize: {{ inputs.text }}', 'Summarize briefly: {{ inputs.text }}', 'TL;DR {{ inputs.text }}']) await create({ name: 'summary', body });
    });

    it('points a label at a version and moves it, answering where it was', async () => {
      const first = await sut.rpc.call(RegistryRpc.moveLabel, { project: P, name: 'summary', label: 'staging', version: 1 });
      expect(first).toMatchObject({ label: 'staging', version: 1, previous: null, level: 'project' });
      const moved = await sut.rpc.call(RegistryRpc.moveLabel, { project: P, name: 'summary', label: 'staging', version: 3 });
      expect(moved).toMatchObject({ version: 3, previous: 1 });
    });

    it('protects production: moving it needs the admin token', async () => {
      const err = await rpcError(sut.rpc.call(RegistryRpc.moveLabel, { project: P, name: 'summary', label: 'production', version: 2 }));
      expect(err.code).toBe('failed_precondition');
      expect(err.message).toContain('protected');
      const lookup = await sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'summary' });
      expect(lookup.template.labels.production).toBeUndefined();
      await sut.rpc.call(RegistryRpc.moveLabel, { project: P, admin: true, name: 'summary', label: 'production', version: 2 });
    });

    it('refuses a label at a version that does not exist, and the implicit "latest"', async () => {
      expect((await rpcError(sut.rpc.call(RegistryRpc.moveLabel, { project: P, name: 'summary', label: 'staging', version: 9 }))).code).toBe('not_found');
      const latest = await rpcError(sut.rpc.call(RegistryRpc.moveLabel, { project: P, name: 'summary', label: 'latest', version: 1 }));
      expect(latest.code).toBe('invalid_argument');
      expect(latest.issues?.[0]?.path).toEqual(['label']);
    });

    it('never changes a resolution already made when the label moves later (a run keeps its pin)', async () => {
      const pinned = await sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, refs: [{ name: 'summary', selector: 'production' }, { name: 'summary' }] });
      expect(pinned.templates.map((t) => [t.version, t.label, t.body])).toEqual([
        [2, 'production', 'Summarize briefly: {{ inputs.text }}'],
        [2, 'production', 'Summarize briefly: {{ inputs.text }}'],
      ]);
      const copy = structuredClone(pinned);
      await sut.rpc.call(RegistryRpc.moveLabel, { project: P, admin: true, name: 'summary', label: 'production', version: 3 });
      expect(pinned).toEqual(copy);
      const later = await sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, refs: [{ name: 'summary', selector: 'production' }] });
      expect(later.templates[0]).toMatchObject({ version: 3, body: 'TL;DR {{ inputs.text }}' });
    });

    it('records nothing for a run whose templates are in no experiment: asking again follows the labels (the run keeps its bodies)', async () => {
      const runId = randomUUID();
      const ask = () => sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, runId, refs: [{ name: 'summary', selector: 'production' }] });
      const first = await ask();
      await sut.rpc.call(RegistryRpc.moveLabel, { project: P, admin: true, name: 'summary', label: 'production', version: 1 });
      expect((await ask()).templates[0]!.version).toBe(1);
      const pg = new Client({ connectionString: sut.databaseUrl });
      await pg.connect();
      const pins = await pg.query(`select count(*)::int as n from registry.run_template where run_id = $1`, [runId]);
      await pg.end();
      expect(pins.rows[0].n).toBe(0);
      await sut.rpc.call(RegistryRpc.moveLabel, { project: P, admin: true, name: 'summary', label: 'production', version: first.templates[0]!.version });
    });

    it('moves a label atomically: concurrent moves leave it at one of the requested versions, every move answering a real predecessor', async () => {
      const moves = await Promise.all([1, 2, 3, 1, 2, 3, 1, 2].map((version) => sut.rpc.call(RegistryRpc.moveLabel, { project: P, name: 'summary', label: 'canary', version })));
      // Serialised by the row lock: exactly one move found no label, and each other saw the version another move wrote.
      expect(moves.filter((m) => m.previous === null)).toHaveLength(1);
      const final = (await sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'summary' })).template.labels.canary;
      expect([1, 2, 3]).toContain(final);
      const pg = new Client({ connectionString: sut.databaseUrl });
      await pg.connect();
      const rows = await pg.query(`select count(*)::int as n from registry.template_label l join registry.template t on t.id = l.template_id where t.name = 'summary' and l.name = 'canary'`);
      await pg.end();
      expect(rows.rows[0].n).toBe(1);
    });
  });

  describe('hierarchy', () => {
    beforeAll(async () => {
      await create({ name: 'tone', body: 'global tone', level: 'global', admin: true });
      await create({ name: 'tone', body: 'acme tone' });
      await create({ name: 'tone', body: 'acme support tone', feature: 'support' });
      await create({ name: 'tone', body: 'other tone', project: 'other' } as never);
    });

    it('resolves the most specific level that has the template', async () => {
      const res = await sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, feature: 'support', refs: [{ name: 'tone' }] });
      expect(res.templates[0]).toMatchObject({ level: 'feature', body: 'acme support tone' });
      const project = await sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, feature: 'billing', refs: [{ name: 'tone' }] });
      expect(project.templates[0]).toMatchObject({ level: 'project', body: 'acme tone' });
      const global = await sut.rpc.call(RegistryRpc.resolveTemplates, { project: 'third', refs: [{ name: 'tone' }] });
      expect(global.templates[0]).toMatchObject({ level: 'global', body: 'global tone' });
    });

    it('shows which level answered and every level it considered', async () => {
      const lookup = await sut.rpc.call(RegistryRpc.getTemplate, { project: P, name: 'tone', feature: 'billing' });
      expect(lookup.level).toBe('project');
      expect(lookup.reason).toContain('has no override for feature "billing"');
      expect(lookup.candidates.map((c) => [c.level, c.found])).toEqual([
        ['feature', false],
        ['project', true],
        ['global', true],
      ]);
      expect(lookup.candidates[2]!.note).toContain('overridden');
    });

    it("never shows another project's templates", async () => {
      const list = await sut.rpc.call(RegistryRpc.listTemplates, { project: 'third' });
      expect(list.items.filter((t) => t.name === 'tone').map((t) => t.level)).toEqual(['global']);
      expect(list.items.every((t) => t.project === null || t.project === 'third')).toBe(true);
      expect((await rpcError(sut.rpc.call(RegistryRpc.getTemplate, { project: 'third', name: 'greet' }))).code).toBe('not_found');
    });
  });

  describe('resolve', () => {
    it('answers a version number, a label, latest, and lists what it cannot find', async () => {
      const res = await sut.rpc.call(RegistryRpc.resolveTemplates, {
        project: P,
        refs: [{ name: 'greet', selector: '1' }, { name: 'summary', selector: 'staging' }, { name: 'greet', selector: 'latest' }, { name: 'nope' }, { name: 'greet', selector: '9' }, { name: 'greet', selector: 'gone' }],
      });
      expect(res.templates.map((t) => [t.ref, t.version, t.label])).toEqual([
        ['greet@1', 1, null],
        ['summary@staging', 3, 'staging'],
        ['greet@latest', 3, 'latest'],
      ]);
      expect(res.missing).toEqual(['nope', 'greet@9', 'greet@gone']);
      expect(res.templates[0]).toMatchObject({ category: 'prompt', variables: ['name'], parameters: {}, experiment: null, level: 'project' });
    });

    it('rejects a malformed request, naming the field', async () => {
      const err = await rpcError(sut.rpc.call(RegistryRpc.resolveTemplates, { project: P, refs: 'all' } as never));
      expect(err.code).toBe('invalid_argument');
      expect(JSON.stringify(err.issues)).toContain('refs');
    });
  });

  describe('render', () => {
    it('renders text and chat templates with the given variables', async () => {
      const text = await sut.rpc.call(RegistryRpc.renderTemplate, { project: P, name: 'greet', selector: '2', variables: { name: 'Ana', city: 'Porto' } });
      expect(text).toMatchObject({ version: 2, rendered: 'Hi Ana from Porto', parameters: { temperature: 0.2 } });
      const chat = await sut.rpc.call(RegistryRpc.renderTemplate, { project: P, name: 'chat', variables: { persona: 'a pirate', question: 'Where?' } });
      expect(chat.rendered).toEqual([
        { role: 'system', content: 'You are a pirate.' },
        { role: 'user', content: 'Where?' },
      ]);
    });

    it('names a missing variable', async () => {
      const err = await rpcError(sut.rpc.call(RegistryRpc.renderTemplate, { project: P, name: 'greet', selector: '2', variables: { name: 'Ana' } }));
      expect(err.code).toBe('invalid_argument');
      expect(err.message).toContain('"city"');
      expect(err.issues?.[0]?.path).toEqual(['variables', 'city']);
    });

    it('renders nothing dangerous: no constructors, prototypes or host objects through a variable', async () => {
      await create({ name: 'probe', body: '{{ inputs.x.constructor }}{{ inputs.x.__proto__ }}' });
      const err = await rpcError(sut.rpc.call(RegistryRpc.renderTemplate, { project: P, name: 'probe', variables: { x: 'text' } }));
      expect(err.code).toBe('invalid_argument');
      expect(err.message).toContain('x.constructor');
    });
  });
});
