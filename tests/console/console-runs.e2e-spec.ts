import type { Page } from 'playwright-core';
import type { SimulatorOptions } from '@trellis/llm';
import { waitFor } from '@trellis/testing';
import { startConsoleHarness, type ConsoleHarness } from './console-fixtures';

/**
 * The model answers these tests script: a judge that scores round 1 low (with a violation and
 * feedback) and round 2 high, and an answer full of HTML and script for the injection test.
 */
const INJECTION = [
  '# Result',
  'Plain **bold** text.',
  '<img src=x onerror="window.__pwned = (window.__pwned || 0) + 1">',
  '<script>window.__pwned = (window.__pwned || 0) + 1</script>',
  '[a link](javascript:window.__pwned=1)',
  '![tracker](http://127.0.0.1:9/leak.png)',
].join('\n\n');

type SimulatedCall = Parameters<NonNullable<SimulatorOptions['respond']>>[0];

function respond(call: SimulatedCall): string | undefined {
  const text = call.messages.map((m) => m.content).join('\n');
  const format = call.responseFormat as { json_schema?: { name?: string } } | null;
  if (format?.json_schema?.name === 'judge_verdict') {
    const round = [...text.matchAll(/\(round (\d+)\) scored/g)].length + 1;
    return round === 1
      ? JSON.stringify({ score: 0.6, categories: { accuracy: 0.55, clarity: 0.7 }, violations: [{ rule: 'precision', severity: 'major', message: 'no price given' }], feedback: 'Name the price in euros.' })
      : JSON.stringify({ score: 0.92, categories: { accuracy: 0.95, clarity: 0.9 }, violations: [], feedback: 'Good.' });
  }
  return text.includes('INJECT-HERE') ? INJECTION : undefined;
}

/** The runs page and a run's page, driven in Chromium against the whole platform. */
describe('console: runs', () => {
  let h: ConsoleHarness;
  let page: Page;

  const oneStep = (name: string) => ({ version: 1, name, inputs: { idea: { type: 'string', required: true } }, steps: { write: { prompt: 'Write one line about {{ inputs.idea }}' } } });
  const start = async (body: object): Promise<string> => {
    const res = await h.ctx.api.post('/v1/runs', body);
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const rows = () => page.getByRole('table', { name: 'Runs' }).locator('tbody tr');

  beforeAll(async () => {
    h = await startConsoleHarness({ simulator: { respond } });
    page = await h.open('/runs');
  }, 90_000);
  afterAll(() => h?.stop(), 60_000);

  it('lists runs as they start, filters them on the server and pages through them', async () => {
    const kettle = await start({ spec: oneStep('ideas'), inputs: { idea: 'a Solar Kettle' } });
    const failing = await start({ spec: { version: 1, name: 'broken', steps: { refuse: { prompt: 'no [[sim status=400]]' } } } });
    const many = await Promise.all(Array.from({ length: 52 }, (_, i) => start({ spec: oneStep('ideas'), inputs: { idea: `lamp ${i}` } })));
    await Promise.all([kettle, failing, ...many].map((id) => h.ctx.api.waitForRun(id, 60_000)));

    // The newest 50, each linking to its run; the page follows new runs without a reload.
    await waitFor('the first page of runs', async () => (await rows().count()) === 50);
    const late = await start({ spec: oneStep('late'), inputs: { idea: 'arrives while the page is open' } });
    await page.getByRole('link', { name: `Run ${late}` }).waitFor();
    await waitFor('the late run to succeed', async () => (await rows().first().innerText()).includes('succeeded'));

    // Older, then back.
    await page.getByRole('button', { name: 'Older' }).click();
    await waitFor('the second page', async () => (await rows().count()) === 5);
    expect(await page.getByRole('link', { name: `Run ${kettle}` }).count()).toBe(1);
    await page.getByRole('button', { name: 'Newer' }).click();
    await waitFor('the first page again', async () => (await rows().count()) === 50);

    // By a word of an input value, in any case.
    await page.getByLabel('Input contains').fill('solar kettle');
    await page.getByRole('button', { name: 'Search' }).click();
    await waitFor('the kettle run alone', async () => (await rows().count()) === 1);
    await page.getByRole('link', { name: `Run ${kettle}` }).waitFor();
    expect(new URL(page.url()).searchParams.get('input')).toBe('solar kettle');

    // By status, and by the start of a run id.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Status').selectOption('failed');
    await waitFor('the failed run alone', async () => (await rows().count()) === 1 && (await rows().first().innerText()).includes('broken'));
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Run id').fill(many[7]!.slice(0, 23));
    await page.getByRole('button', { name: 'Search' }).click();
    await waitFor('the run with that id', async () => (await rows().count()) === 1);
    await page.getByRole('link', { name: `Run ${many[7]}` }).waitFor();

    // By pipeline, and a range of start times that holds none of them.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Pipeline').fill('late');
    await page.getByRole('button', { name: 'Search' }).click();
    await waitFor('the late run alone', async () => (await rows().count()) === 1);
    await page.getByLabel('Started before').fill('2020-01-01T00:00');
    await page.getByText('No run matches these filters.').waitFor();
    expect(h.browser.problems).toEqual([]);
  });

  const node = (p: Page, stepId: string, status: string) => p.getByRole('button', { name: `${stepId}: ${status}`, exact: true });
  const register = async (yaml: string) => {
    const res = await h.ctx.api.post('/v1/pipelines', yaml, { contentType: 'application/yaml' });
    expect(res.status).toBe(201);
  };

  it('draws a fan-out as it runs, turning every node succeeded without a reload, and survives a reload of a deep link', async () => {
    const experts = Array.from({ length: 6 }, (_, i) => `  expert_${i + 1}:\n    depends_on: [plan]\n    prompt: "Expert ${i + 1} on {{ steps.plan.output }} [[sim latency_ms=400]]"`);
    await register(
      [
        'version: 1',
        'name: fan-live',
        'steps:',
        '  plan:',
        '    prompt: "Plan the brief [[sim latency_ms=4000]]"',
        ...experts,
        '  combine:',
        `    depends_on: [${experts.map((_, i) => `expert_${i + 1}`).join(', ')}]`,
        '    prompt: "Combine {{ steps.expert_1.output }}"',
        'products:',
        '  - { path: brief.md, from: "{{ steps.combine.output }}" }',
      ].join('\n'),
    );
    // Signed in on the runs page first; the run starts, shows up, and a click opens it.
    const run = await h.open('/runs');
    const id = await start({ pipeline: 'fan-live' });
    await run.getByRole('link', { name: `Run ${id}` }).click();
    await run.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
    // The plan is still being written: nothing has finished yet.
    await node(run, 'plan', 'dispatched').waitFor();
    expect(await node(run, 'combine', 'pending').count()).toBe(1);
    // Then every node turns succeeded, on this same page.
    for (const step of ['plan', 'expert_1', 'expert_6', 'combine']) await node(run, step, 'succeeded').waitFor({ timeout: 30_000 });
    await waitFor('all 8 nodes succeeded', async () => (await run.getByRole('button', { name: /: succeeded$/ }).count()) === 8);
    expect(await run.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    await run.getByRole('status').filter({ hasText: 'final' }).waitFor();

    // Open a step; the URL says which, and a reload opens it again.
    await node(run, 'expert_3', 'succeeded').click();
    await run.getByRole('heading', { name: /Step expert_3/ }).waitFor();
    expect(new URL(run.url()).searchParams.get('step')).toBe('expert_3');
    await run.reload();
    await run.getByRole('heading', { name: /Step expert_3/ }).waitFor();
    await run.getByText('Expert 3 on', { exact: false }).first().waitFor();
    // Keyboard: Escape closes the panel.
    await run.keyboard.press('Escape');
    await run.getByRole('heading', { name: /Step expert_3/ }).waitFor({ state: 'detached' });

    // Its product downloads through the API client.
    const [download] = await Promise.all([run.waitForEvent('download'), run.getByRole('button', { name: 'Download brief.md' }).click()]);
    expect(download.suggestedFilename()).toBe('brief.md');
    expect(h.browser.problems).toEqual([]);
  });

  it('opens a failed step and shows its error, and resumes the run from the page', async () => {
    const id = await start({ spec: { version: 1, name: 'flaky', steps: { first: { prompt: 'first' }, flaky: { depends_on: ['first'], prompt: 'flaky {{ steps.first.output }} [[sim status=400 times=1]]' } } } });
    const failed = await h.ctx.api.waitForRun(id);
    const error = failed.steps[1]!.error!;
    const run = await h.open(`/runs/${id}`);
    await node(run, 'flaky', 'failed').click();
    const reason = run.getByRole('note', { name: 'Reason' });
    await reason.filter({ hasText: `Failed: ${error.message}` }).waitFor();
    expect(await reason.innerText()).toContain(error.code);
    await run.getByRole('alert').filter({ hasText: 'The run failed' }).waitFor();

    await run.getByRole('button', { name: 'Resume run' }).click();
    await node(run, 'flaky', 'succeeded').waitFor({ timeout: 30_000 });
    await run.getByRole('heading', { name: /Run .* succeeded/ }).waitFor();
    expect(h.browser.problems).toEqual([]);
  });

  it('cancels a running run from its page', async () => {
    const id = await start({ spec: { version: 1, name: 'slow', steps: { slow: { prompt: 'slow [[sim latency_ms=20000]]' }, next: { depends_on: ['slow'], prompt: 'next' } } } });
    const run = await h.open(`/runs/${id}`);
    await node(run, 'slow', 'dispatched').waitFor();
    await run.getByRole('button', { name: 'Cancel run' }).click();
    await run.getByRole('heading', { name: /Run .* cancelled/ }).waitFor();
    await node(run, 'slow', 'cancelled').waitFor();
    await node(run, 'next', 'skipped').waitFor();
    expect(await run.getByRole('button', { name: 'Cancel run' }).count()).toBe(0);
    expect(h.browser.problems).toEqual([]);
  });

  it("shows a gated step's every round: score, category scores, violations with severity, feedback and the kept candidate", async () => {
    await register(
      [
        'version: 1',
        'name: gated',
        'steps:',
        '  pitch:',
        '    prompt: "Write a one-line pitch for a solar kettle."',
        '    verify:',
        '      gates: [{ judge: { rubric: "A precise pitch with a price.", categories: [accuracy, clarity] } }]',
        '      iterate: { max: 3 }',
      ].join('\n'),
    );
    const id = await start({ pipeline: 'gated' });
    await h.ctx.api.waitForRun(id, 60_000);
    const run = await h.open(`/runs/${id}?step=pitch`);
    const rounds = run.getByRole('table', { name: 'Iterations' }).locator('tbody tr');
    // The feedback comes with the run's events, replayed when the page opens.
    await rounds.nth(0).getByText('Name the price in euros.').waitFor();
    expect(await rounds.count()).toBe(2);
    const [first, second] = [(await rounds.nth(0).innerText()).toLowerCase(), (await rounds.nth(1).innerText()).toLowerCase()];
    expect(first).toMatch(/^1\b/);
    for (const text of ['0.60', 'accuracy 0.55', 'clarity 0.70', 'major', 'precision', 'no price given', 'retry', 'name the price in euros.']) expect(first).toContain(text);
    expect(first).not.toContain('kept');
    for (const text of ['0.92', 'accuracy 0.95', 'no violations', 'accept', 'kept']) expect(second).toContain(text);
    await run.getByRole('heading', { name: /Iterations.*2 used.*accepted/ }).waitFor();
    expect(h.browser.problems).toEqual([]);
  });

  it("shows a routed pipeline's skipped branch with its reason, and the route as an edge of its own", async () => {
    await register(
      [
        'version: 1',
        'name: routed',
        'inputs: { go: { type: boolean, default: false } }',
        'steps:',
        '  check: { prompt: "check" }',
        '  act: { prompt: "act", depends_on: [check], condition: "inputs.go", on_false: explain }',
        '  explain: { prompt: "explain why not" }',
      ].join('\n'),
    );
    const id = await start({ pipeline: 'routed' });
    await h.ctx.api.waitForRun(id);
    const run = await h.open(`/runs/${id}`);
    await node(run, 'explain', 'succeeded').waitFor();
    // The skipped step says why on the node, and in full in its panel.
    expect(await node(run, 'act', 'skipped').innerText()).toContain('condition_false');
    await run.locator('.react-flow__edge-text', { hasText: 'on_false' }).waitFor();
    // By keyboard: a node is a button; Enter opens its panel and moves the focus there.
    await node(run, 'act', 'skipped').focus();
    await run.keyboard.press('Enter');
    await run.getByRole('note', { name: 'Reason' }).filter({ hasText: 'Skipped: condition "inputs.go" is false' }).waitFor();
    expect(await run.evaluate(() => document.activeElement?.id)).toBe('step-title');
    expect(h.browser.problems).toEqual([]);
  });

  it('renders HTML and script in a model answer and in an input as text: nothing runs, nothing is fetched', async () => {
    const id = await start({
      spec: { version: 1, name: 'inject', inputs: { idea: { type: 'string', required: true } }, steps: { answer: { prompt: 'INJECT-HERE {{ inputs.idea }}' } } },
      inputs: { idea: '<script>window.__pwned = 1</script><img src=y onerror="window.__pwned = 1">' },
    });
    await h.ctx.api.waitForRun(id);
    const requests: string[] = [];
    const run = await h.open(`/runs/${id}`);
    run.on('request', (r) => requests.push(r.url()));
    await node(run, 'answer', 'succeeded').click();
    const output = run.locator('.output');
    // Markdown is rendered (a heading, bold text), the HTML shows as the text it is.
    await output.getByRole('heading', { name: 'Result' }).waitFor();
    await output.locator('strong', { hasText: 'bold' }).waitFor();
    await output.getByText('<img src=x onerror=', { exact: false }).waitFor();
    await output.getByText('<script>window.__pwned', { exact: false }).waitFor();
    // The prompt (with the user's input) is shown as sent, as text.
    await run.locator('.messages').getByText('<script>window.__pwned = 1</script>', { exact: false }).waitFor();
    await run.getByText('Inputs').click();

    expect(await run.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await run.locator('main img, main script').count()).toBe(0);
    expect(await output.getByRole('link', { name: 'a link' }).getAttribute('href')).toBe('');
    expect(requests.filter((u) => u.includes('leak.png') || u.endsWith('/x') || u.endsWith('/y'))).toEqual([]);
    expect(h.browser.problems).toEqual([]);
  });
});
