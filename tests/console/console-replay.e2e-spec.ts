import type { Page } from 'playwright-core';
import type { RunView } from '@trellis/contracts';
import { waitFor } from '@trellis/testing';
import { startConsoleHarness, type ConsoleHarness } from './console-fixtures';

/**
 * Replay, fork and compare from the console (docs/replay.md, docs/console.md), driven in
 * Chromium against the whole platform; the simulator's request log says which model calls
 * each new run made.
 */
describe('console: replay, fork and compare', () => {
  let h: ConsoleHarness;
  let page: Page;
  let source: RunView;

  const chain = {
    version: 1,
    name: 'console-chain',
    inputs: { topic: { type: 'string', required: true }, tone: { type: 'string', default: 'dry' } },
    steps: {
      a: { prompt: 'Name one thing about {{ inputs.topic }}.' },
      b: { depends_on: ['a'], prompt: 'Write two lines about {{ steps.a.output }} in a {{ inputs.tone }} tone.' },
      c: { depends_on: ['b'], prompt: 'Summarise: {{ steps.b.output }}' },
    },
  };
  const requests = () => h.ctx.simulator.requests().length;
  /** The run the page shows now (its id is in the URL), once it has finished. */
  const shownRun = async (notId: string): Promise<RunView> => {
    const shown = () => /^\/runs\/([^/]+)$/.exec(new URL(page.url()).pathname)?.[1];
    await waitFor('the new run to open', async () => shown() !== undefined && shown() !== notId);
    const id = decodeURIComponent(shown()!);
    return h.ctx.api.waitForRun(id, 60_000);
  };

  beforeAll(async () => {
    h = await startConsoleHarness();
    expect((await h.ctx.api.post('/v1/pipelines', chain)).status).toBe(201);
    const res = await h.ctx.api.post('/v1/runs', { pipeline: 'console-chain', inputs: { topic: 'kettles' } });
    expect(res.status).toBe(202);
    source = await h.ctx.api.waitForRun(res.body.id, 60_000);
    expect(source.status).toBe('succeeded');
  }, 90_000);
  afterAll(() => h?.stop(), 60_000);

  it('replays a run on its recorded answers from its page: no model call, and the comparison says identical', async () => {
    page = await h.open(`/runs/${source.id}`);
    const before = requests();
    await page.getByRole('button', { name: 'Replay' }).click();
    const form = page.getByRole('form', { name: 'Replay this run' });
    await form.getByLabel('Answers').selectOption('recorded');
    await form.getByRole('button', { name: 'Start replay' }).click();

    const replayed = await shownRun(source.id);
    expect(replayed).toMatchObject({ status: 'succeeded', source: { run: source.id, from: null, mode: 'recorded' } });
    expect(requests()).toBe(before);
    await page.getByText('Replay of').waitFor();

    await page.getByRole('link', { name: 'Compare with the source' }).click();
    await page.getByRole('heading', { name: 'Compare runs' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'Identical' }).waitFor();
    expect(await page.getByRole('table', { name: 'Steps compared' }).locator('tbody tr').count()).toBe(3);
  }, 120_000);

  it('forks from a step with another input: only that step and what follows call the model, and the comparison names them', async () => {
    page = await h.open(`/runs/${source.id}?step=b`);
    await page.getByRole('heading', { name: /Step b/ }).waitFor();
    await page.getByRole('button', { name: 'Fork from this step' }).click();
    const form = page.getByRole('form', { name: 'Fork from step b' });
    await form.getByLabel('Answers').selectOption('recorded_else_live');
    await form.getByLabel('Inputs (JSON)').fill(JSON.stringify({ topic: 'kettles', tone: 'warm' }));
    const before = h.ctx.simulator.requests().length;
    await form.getByRole('button', { name: 'Start fork' }).click();

    const fork = await shownRun(source.id);
    expect(fork).toMatchObject({ status: 'succeeded', source: { run: source.id, from: 'b', mode: 'recorded_else_live' } });
    const prompts = h.ctx.simulator.requests().slice(before).map((r) => String(r.messages.at(-1)?.content));
    expect(prompts.map((p) => p.split(' ')[0])).toEqual(['Write', 'Summarise:']);

    await page.getByRole('link', { name: 'Compare with the source' }).click();
    const summary = page.getByRole('status').filter({ hasText: 'Changed:' });
    await summary.waitFor();
    expect(await summary.innerText()).toContain('Changed: b, c.');
    // The first changed step opens with its prompt's diff: the tone went from dry to warm.
    await page.getByRole('heading', { name: 'Step b: changed' }).waitFor();
    const patch = page.getByLabel('Prompt diff of b');
    expect(await patch.locator('.removed').innerText()).toContain('dry tone');
    expect(await patch.locator('.added').innerText()).toContain('warm tone');
  }, 120_000);

  it('compares any two runs by id, and says so when the other run does not exist', async () => {
    page = await h.open(`/runs/${source.id}`);
    await page.getByLabel('Compare with run').fill('01890000-0000-7000-8000-000000000000');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').innerText()).toMatch(/No such comparison|not found|no run/i);
  }, 60_000);

  it('shows why a replay was refused, naming the field', async () => {
    page = await h.open(`/runs/${source.id}`);
    await page.getByRole('button', { name: 'Replay' }).click();
    const form = page.getByRole('form', { name: 'Replay this run' });
    await form.getByLabel('Inputs (JSON)').fill('{ "topic": ');
    await form.getByRole('button', { name: 'Start replay' }).click();
    await form.getByRole('alert').filter({ hasText: 'not JSON' }).waitFor();
    await form.getByLabel('Inputs (JSON)').fill(JSON.stringify({ topic: 'kettles', colour: 'red' }));
    await form.getByRole('button', { name: 'Start replay' }).click();
    const refused = form.getByRole('alert');
    await refused.waitFor();
    expect(await refused.innerText()).toContain('overrides.inputs');
    expect(page.url()).toContain(source.id);
  }, 60_000);
});
