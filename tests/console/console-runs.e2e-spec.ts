import type { Page } from 'playwright-core';
import { waitFor } from '@trellis/testing';
import { startConsoleHarness, type ConsoleHarness } from './console-fixtures';

/** The runs page: the list, its server-side filters and pages, new runs appearing live. */
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
    h = await startConsoleHarness();
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
});
