import type { SimulatorOptions } from '@trellis/llm';
import { uniqueToken, waitFor } from '@trellis/testing';
import { startConsoleHarness, type ConsoleHarness } from './console-fixtures';

type SimulatedCall = Parameters<NonNullable<SimulatorOptions['respond']>>[0];

/** The judge accepts what variant a wrote and rejects what variant b wrote (its template starts with a marker). */
function respond(call: SimulatedCall): string | undefined {
  const format = call.responseFormat as { json_schema?: { name?: string } } | null;
  if (format?.json_schema?.name !== 'judge_verdict') return undefined;
  const b = call.messages.some((m) => m.content.includes('VARIANT-B'));
  return JSON.stringify(
    b
      ? { score: 0.35, categories: { clarity: 0.3 }, violations: [{ rule: 'tone', severity: 'critical', message: 'shouts' }], feedback: 'Calm down.' }
      : { score: 0.9, categories: { clarity: 0.9 }, violations: [], feedback: 'Good.' },
  );
}

/** Pipelines (versions, plan, the validator), templates (diff, labels, preview) and experiments, in Chromium. */
describe('console: pipelines, templates and experiments', () => {
  let h: ConsoleHarness;
  const adminToken = `admin-${uniqueToken()}-token`;
  const admin = { headers: { 'x-trellis-admin-token': adminToken } };

  beforeAll(async () => {
    h = await startConsoleHarness({ env: { TRELLIS_ADMIN_TOKEN: adminToken }, simulator: { respond } });
  }, 90_000);
  afterAll(() => h?.stop(), 60_000);

  const brief = (description: string) =>
    ['version: 1', 'name: brief', `description: ${description}`, 'steps:', '  outline: { prompt: "Outline it" }', '  write: { prompt: "Write from {{ steps.outline.output }}", depends_on: [outline] }'].join('\n');

  it("lists pipelines, shows any version's plan and spec, and the validator points at every error by line and column", async () => {
    for (const d of ['First take.', 'Second take.']) expect((await h.ctx.api.post('/v1/pipelines', brief(d), { contentType: 'application/yaml' })).status).toBe(201);
    expect((await h.ctx.api.get('/v1/pipelines/brief/versions/3')).status).toBe(404);

    const page = await h.open('/pipelines');
    await page.getByRole('link', { name: 'brief', exact: true }).click();
    await page.getByRole('heading', { name: 'Pipeline brief' }).waitFor();
    const spec = page.getByLabel('Spec');
    await spec.getByText('description: Second take.').waitFor();
    expect(await page.getByLabel('Batches').innerText()).toMatch(/outline\s+write/);
    expect(await page.getByLabel('Critical path').innerText()).toMatch(/outline\s*→\s*write/);
    await page.getByRole('table', { name: 'Steps of the plan' }).getByText('gpt-4.1-mini').first().waitFor();
    await page.getByLabel('Version').selectOption('1');
    await spec.getByText('description: First take.').waitFor();
    expect(new URL(page.url()).searchParams.get('version')).toBe('1');

    // The validator: every problem the compiler finds, each at its line and column.
    const bad = ['version: 1', 'name: broken', 'steps:', '  a:', '    promt: "typo"', '  b:', '    prompt: "b"', '    depends_on: [nowhere]'].join('\n');
    const expected = await h.ctx.api.post('/v1/pipelines/validate', bad, { contentType: 'application/yaml' });
    expect(expected.status).toBe(400);
    const issues = expected.body.errors as Array<{ message: string; line: number; column: number }>;
    expect(issues.length).toBeGreaterThanOrEqual(2);
    await page.getByRole('link', { name: 'Validate' }).click();
    await page.getByLabel('Pipeline YAML').fill(bad);
    await page.getByRole('button', { name: 'Validate', exact: true }).click();
    const problems = page.getByRole('list', { name: 'Problems' }).locator('li');
    await waitFor('every problem listed', async () => (await problems.count()) === issues.length);
    for (const [i, issue] of issues.entries()) {
      const text = await problems.nth(i).innerText();
      expect(text).toContain(`${issue.line}:${issue.column}`);
      expect(text).toContain(issue.message);
    }
    // A problem's position puts the caret there.
    const typo = issues.find((i) => i.line === 5)!;
    await page.getByRole('button', { name: `Go to line 5, column ${typo.column}` }).click();
    const caret = await page.getByLabel('Pipeline YAML').evaluate((el) => (el as HTMLTextAreaElement).selectionStart);
    expect(caret).toBe(bad.split('\n').slice(0, 4).join('\n').length + 1 + typo.column - 1);

    await page.getByLabel('Pipeline YAML').fill(brief('Valid.'));
    await page.getByRole('button', { name: 'Validate', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Valid: 2 steps in 2 batches.' }).waitFor();
    expect(h.browser.problems.filter((p) => !/status of 400/.test(p))).toEqual([]);
    h.browser.problems.length = 0;
  });

  it('diffs two template versions side by side, moves a protected label with the admin token, and renders a preview', async () => {
    const bodies = ['Write a pitch for {{ inputs.product }}.\nKeep it short.', 'VARIANT-B WRITE A PITCH FOR {{ inputs.product }}!\nKeep it short.', 'Write a pitch for {{ inputs.product }}.\nName its price.\nKeep it short.'];
    for (const body of bodies) expect((await h.ctx.api.post('/v1/templates', { name: 'pitch', body, message: 'a try' })).status).toBe(201);

    const page = await h.open('/templates');
    await page.getByRole('table', { name: 'project templates' }).getByRole('link', { name: 'pitch' }).click();
    await page.getByRole('heading', { name: 'Template pitch' }).waitFor();
    await page.getByLabel('From version').selectOption('1');
    await page.getByLabel('To version').selectOption('3');
    const diff = page.getByRole('table', { name: 'Diff of v1 and v3' });
    await diff.locator('td.added', { hasText: 'Name its price.' }).waitFor();
    expect(await diff.locator('td.removed').count()).toBe(0);
    await page.getByLabel('From version').selectOption('2');
    await page.getByRole('table', { name: 'Diff of v2 and v3' }).locator('td.removed', { hasText: 'VARIANT-B WRITE A PITCH' }).waitFor();
    await page.getByRole('table', { name: 'Diff of v2 and v3' }).locator('td.added', { hasText: 'Write a pitch for {{ inputs.product }}.' }).waitFor();

    // production is protected: refused without the admin token, moved with it.
    await page.getByLabel('Label', { exact: true }).fill('production');
    await page.getByLabel('Version', { exact: true }).selectOption('1');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('alert').filter({ hasText: 'protected' }).waitFor();
    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('status').filter({ hasText: 'production now points at v1' }).waitFor();
    await page.getByRole('table', { name: 'Labels' }).getByText('production').waitFor();

    await page.getByLabel('Render version').selectOption('3');
    await page.getByLabel('product', { exact: true }).fill('a solar kettle');
    await page.getByRole('button', { name: 'Render' }).click();
    await page.getByLabel('Rendered template').getByText('Write a pitch for a solar kettle.').waitFor();
    expect(h.browser.problems.filter((p) => !/status of 409/.test(p))).toEqual([]);
    h.browser.problems.length = 0;
  });

  it("shows an experiment's variants against every metric, with the API's significance and winner, and promotes the winner", async () => {
    const pipeline = {
      version: 1,
      name: 'pitcher',
      inputs: { product: { type: 'string', required: true } },
      steps: { pitch: { template: 'pitch', with: { product: '{{ inputs.product }}' }, verify: { gates: [{ judge: { rubric: 'Calm and concrete.', categories: ['clarity'] } }], iterate: { max: 1 } } } },
    };
    expect((await h.ctx.api.post('/v1/pipelines', pipeline)).status).toBe(201);
    const experiment = await h.ctx.api.post('/v1/experiments', { template: 'pitch', description: 'calm or loud', variants: [{ name: 'calm', version: 1 }, { name: 'loud', version: 2 }] }, admin);
    expect(experiment.status).toBe(201);
    const ids = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => (await h.ctx.api.post('/v1/runs', { pipeline: 'pitcher', inputs: { product: `kettle ${i}` }, subject: `user-${i}` })).body.id as string),
    );
    await Promise.all(ids.map((id) => h.ctx.api.waitForRun(id, 60_000)));
    const results = await waitFor(
      'the registry to count every run',
      async () => {
        const e = (await h.ctx.api.get(`/v1/experiments/${experiment.body.id}`)).body;
        return e.results.reduce((n: number, r: { runsCompleted: number }) => n + r.runsCompleted, 0) === 40 && e.winner ? e : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(results.winner).toBe('calm');

    const page = await h.open('/experiments');
    await page.getByRole('link', { name: 'calm or loud' }).click();
    const rows = page.getByRole('table', { name: 'Variants' }).locator('tbody tr');
    await waitFor('both variants', async () => (await rows.count()) === 2);
    const calm = await rows.nth(0).innerText();
    const loud = await rows.nth(1).innerText();
    const runsOf = (name: string) => String(results.results.find((r: { name: string }) => r.name === name).runs);
    expect(calm).toContain('100.0%');
    expect(calm).toContain('0.90');
    expect(calm).toContain(runsOf('calm'));
    expect(calm).toContain('control');
    expect(loud).toContain('0.0%');
    expect(loud).toContain('0.35');
    expect(loud).toContain(runsOf('loud'));
    expect(loud).toMatch(/acceptance −100\.0 pts \(p < 0\.001\) significant/);
    await page.getByRole('status', { name: 'Winner' }).filter({ hasText: 'Winner: calm' }).waitFor();

    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Promote the winner (calm)' }).click();
    await page.getByRole('status', { name: 'Winner' }).filter({ hasText: 'Promoted calm (v1) to production' }).waitFor();
    expect((await h.ctx.api.get('/v1/templates/pitch')).body.template.labels.production).toBe(1);
    expect(h.browser.problems).toEqual([]);
  });
});
