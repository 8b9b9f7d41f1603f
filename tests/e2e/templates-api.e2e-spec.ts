import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { templatesPush } from '../../apps/cli/src/commands/templates-push.command';
import { startTestPlatform, uniqueToken, type TestPlatform } from '@trellis/testing';

/**
 * Templates and experiments through the gateway (DESIGN §6): every service as its own
 * process, HTTP in, problem+json out, the registry answering over NATS.
 */
describe('templates and experiments API', () => {
  let ctx: TestPlatform;
  const adminToken = `admin-${uniqueToken()}-token`;
  const admin = { headers: { 'x-trellis-admin-token': adminToken } };

  beforeAll(async () => {
    ctx = await startTestPlatform({ env: { TRELLIS_ADMIN_TOKEN: adminToken } });
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  const put = (path: string, body: unknown, options?: { headers: Record<string, string> }) => ctx.api.request('PUT', path, body, options);

  it('creates versions, shows the level that answers, and lists them', async () => {
    const v1 = await ctx.api.post('/v1/templates', { name: 'welcome', body: 'Welcome {{ inputs.name }}' });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ created: true, version: { version: 1, variables: ['name'] }, template: { level: 'project', project: 'default' } });
    expect((await ctx.api.post('/v1/templates', { name: 'welcome', body: 'Welcome {{ inputs.name }}' })).status).toBe(200);
    const feature = await ctx.api.post('/v1/templates', { name: 'welcome', feature: 'support', body: 'Hi {{ inputs.name }}, how can we help?' });
    expect(feature.status).toBe(201);

    const forSupport = await ctx.api.get('/v1/templates/welcome?feature=support');
    expect(forSupport.status).toBe(200);
    expect(forSupport.body).toMatchObject({ level: 'feature', candidates: [{ level: 'feature', found: true }, { level: 'project', found: true }, { level: 'global', found: false }] });
    const forProject = await ctx.api.get('/v1/templates/welcome?project=default');
    expect(forProject.body.level).toBe('project');
    expect((await ctx.api.get('/v1/templates/welcome?project=someone-else')).status).toBe(404);

    const list = await ctx.api.get('/v1/templates');
    expect(list.body.items.filter((t: { name: string }) => t.name === 'welcome').map((t: { level: string }) => t.level).sort()).toEqual(['feature', 'project']);
  });

  it('answers 400 problem+json naming every invalid field, and stores nothing', async () => {
    const res = await ctx.api.post('/v1/templates', { name: 'Not Valid', body: '', colour: 'blue' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['', 'body', 'name']);
    const include = await ctx.api.post('/v1/templates', { name: 'sneaky', body: "{% include '/etc/passwd' %}" });
    expect(include.status).toBe(400);
    expect((await ctx.api.get('/v1/templates/sneaky')).status).toBe(404);
  });

  it('moves labels, and protected ones only with the admin token', async () => {
    await ctx.api.post('/v1/templates', { name: 'welcome', body: 'Welcome aboard, {{ inputs.name }}' });
    const staging = await put('/v1/templates/welcome/labels/staging', { version: 2 });
    expect(staging.status).toBe(200);
    expect(staging.body).toMatchObject({ label: 'staging', version: 2, previous: null });
    const refused = await put('/v1/templates/welcome/labels/production', { version: 1 });
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('protected');
    const wrongToken = await put('/v1/templates/welcome/labels/production', { version: 1 }, { headers: { 'x-trellis-admin-token': 'not-the-admin-token' } });
    expect(wrongToken.status).toBe(409);
    const production = await put('/v1/templates/welcome/labels/production', { version: 1 }, admin);
    expect(production.status).toBe(200);
  });

  it('renders a preview, and a missing variable is a 400 naming it', async () => {
    const ok = await ctx.api.post('/v1/templates/welcome/render', { selector: 'production', variables: { name: 'Ana' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ version: 1, label: 'production', rendered: 'Welcome Ana' });
    const missing = await ctx.api.post('/v1/templates/welcome/render', { variables: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toEqual([expect.objectContaining({ path: 'variables.name', message: expect.stringContaining('inputs.name') })]);
  });

  it('runs an experiment and promotes a named variant to production', async () => {
    const refused = await ctx.api.post('/v1/experiments', { template: 'welcome', variants: [{ name: 'classic', version: 1 }, { name: 'warm', version: 2 }] });
    expect(refused.status).toBe(409);
    const created = await ctx.api.post('/v1/experiments', { template: 'welcome', variants: [{ name: 'classic', version: 1 }, { name: 'warm', version: 2 }] }, admin);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: 'running', results: [{ name: 'classic', runs: 0 }, { name: 'warm', runs: 0 }], winner: null });
    const shown = await ctx.api.get(`/v1/experiments/${created.body.id}`);
    expect(shown.status).toBe(200);
    const noWinner = await ctx.api.post(`/v1/experiments/${created.body.id}/promote`, {}, admin);
    expect(noWinner.status).toBe(409);
    const promoted = await ctx.api.post(`/v1/experiments/${created.body.id}/promote`, { variant: 'warm' }, admin);
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ status: 'stopped', promoted: { variant: 'warm', version: 2 } });
    expect((await ctx.api.get('/v1/templates/welcome')).body.template.labels.production).toBe(2);
    expect((await ctx.api.get('/v1/experiments/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('pushes a folder of template files, creating versions only for what changed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trellis-push-'));
    writeFileSync(join(dir, 'digest.liquid'), '---\nvariables: [text]\nlabels: [staging]\n---\nDigest: {{ inputs.text }}\n');
    writeFileSync(join(dir, 'tone.md'), 'Be kind.\n');
    const lines: string[] = [];
    const push = () => templatesPush({ dir, gatewayUrl: ctx.platform.gatewayUrl, apiKey: ctx.apiKey, print: (l) => lines.push(l) });
    expect(await push()).toBe(0);
    expect(lines.join('\n')).toContain('2 new version(s), 0 unchanged, 0 failed');
    expect(lines.some((l) => l.includes('staging: new → v1'))).toBe(true);
    lines.length = 0;
    writeFileSync(join(dir, 'tone.md'), 'Be kind and brief.\n');
    expect(await push()).toBe(0);
    expect(lines.join('\n')).toContain('1 new version(s), 1 unchanged, 0 failed');
    expect((await ctx.api.get('/v1/templates/tone')).body.template.latest).toBe(2);
    lines.length = 0;
    writeFileSync(join(dir, 'broken.md'), '---\ncolour: blue\n---\nx');
    expect(await push()).toBe(1);
    expect(lines.join('\n')).toContain('nothing was pushed');
  });
});
