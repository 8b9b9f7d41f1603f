import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT, runProcess, startTestPlatform, uniqueToken, type ProcessResult, type TestPlatform } from '@trellis/testing';

const CLI = resolve(REPO_ROOT, 'dist/apps/cli/src/main.js');

/**
 * The regression check of docs/replay.md as a pipeline repository's CI runs it: a baseline run
 * exported and imported, `trellis replay --check` at no token cost, failing with a readable
 * diff once a template or the spec changes a prompt.
 */
describe('trellis replay, diff, runs export/import', () => {
  let ctx: TestPlatform;
  let dir: string;
  const adminToken = `admin-${uniqueToken()}-token`;
  const PIPELINE = `version: 1
name: brief
inputs:
  topic: { type: string, required: true }
steps:
  outline:
    prompt: "Outline a brief on {{ inputs.topic }}."
  greet:
    template: greeting@production
    with: { who: "{{ inputs.topic }}" }
  draft:
    depends_on: [outline, greet]
    prompt: "Write the brief from {{ steps.outline.output }} after {{ steps.greet.output }}"
`;

  const trellis = (...args: string[]): Promise<ProcessResult> =>
    runProcess(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TRELLIS_URL: ctx.platform.gatewayUrl, TRELLIS_API_KEY: ctx.apiKey, CI: 'true' },
      cwd: REPO_ROOT,
    });
  const runId = (r: ProcessResult) => /run ([0-9a-f-]{36})/.exec(r.stderr)?.[1] ?? '';

  let baseline: string;

  beforeAll(async () => {
    ctx = await startTestPlatform({ env: { TRELLIS_ADMIN_TOKEN: adminToken } });
    dir = mkdtempSync(join(tmpdir(), 'trellis-replay-'));
    expect((await ctx.api.post('/v1/templates', { name: 'greeting', body: 'Say hello to {{ inputs.who }}.' })).status).toBe(201);
    expect((await ctx.api.request('PUT', '/v1/templates/greeting/labels/production', { version: 1 }, { headers: { 'x-trellis-admin-token': adminToken } })).status).toBe(200);
    writeFileSync(join(dir, 'brief.yaml'), PIPELINE);
    const run = await trellis('run', join(dir, 'brief.yaml'), '--input', 'topic=kettles');
    expect(run.code).toBe(0);
    // The baseline as a repository keeps it: exported to a file, imported again.
    const exported = await trellis('runs', 'export', runId(run), '--out', join(dir, 'baseline.json'));
    expect(exported.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'baseline.json'), 'utf8'))).toMatchObject({ format: 'trellis.run', calls: [{}, {}, {}] });
    const imported = await trellis('runs', 'import', join(dir, 'baseline.json'));
    expect(imported.code).toBe(0);
    baseline = imported.stdout.trim();
    expect(baseline).toMatch(/^[0-9a-f-]{36}$/);
  }, 90_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('passes the check on an unchanged pipeline without a model request', async () => {
    const before = ctx.simulator.requests().length;
    const res = await trellis('replay', baseline, '--check');
    expect(res.stdout).toContain('check passed');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/: identical \(3 step\(s\)\)/);
    expect(ctx.simulator.requests().length).toBe(before);
  });

  it('fails the check after a template change, printing which steps differ and how', async () => {
    expect((await ctx.api.post('/v1/templates', { name: 'greeting', body: 'Greetings, {{ inputs.who }}!' })).status).toBe(201);
    const before = ctx.simulator.requests().length;
    const res = await trellis('replay', baseline, '--check', '--template', 'greeting@latest');
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('check failed: greet, draft differ');
    expect(res.stdout).toMatch(/^ {2}greet: changed \(status, prompt, output, template\) · succeeded → failed$/m);
    expect(res.stdout).toMatch(/^ {2}outline: identical · succeeded \(carried over\)$/m);
    expect(res.stdout).toContain('greet template: greeting v1 → greeting v2');
    expect(res.stdout).toContain('greet failed: replay_miss: the request of step "greet" differs from the recorded one:');
    expect(res.stdout).toContain('-Say hello to kettles.');
    expect(res.stdout).toContain('+Greetings, kettles!');
    expect(ctx.simulator.requests().length).toBe(before);
  });

  it('forks a run with a template override, calling the model only where the request changed', async () => {
    const before = ctx.simulator.requests().length;
    const res = await trellis('replay', baseline, '--from', 'greet', '--template', 'greeting@2');
    expect(res.code).toBe(0);
    expect(res.stderr).toContain('carried over: outline');
    expect(ctx.simulator.requests().length - before).toBe(2);
    const fork = runId(res);
    const diff = await trellis('diff', baseline, fork);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toMatch(/changed greet, draft/);
    const same = await trellis('diff', fork, fork, '--json');
    expect(same.code).toBe(0);
    expect(JSON.parse(same.stdout)).toMatchObject({ summary: { identical: true } });
  });

  it('fails the check when the spec changes a prompt', async () => {
    writeFileSync(join(dir, 'brief-v2.yaml'), PIPELINE.replace('Outline a brief on', 'Outline a short brief on'));
    const res = await trellis('replay', baseline, '--check', '--spec', join(dir, 'brief-v2.yaml'));
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('check failed: outline, draft differ');
    expect(res.stdout).toContain('+Outline a short brief on kettles.');
  });
});
