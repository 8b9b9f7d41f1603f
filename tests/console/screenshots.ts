// `npm run docs:console`: the screenshots of docs/console.md, taken from the real console against
// the whole platform (every service its own process, the simulator answering), with example data.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { SimulatorOptions } from '@trellis/llm';
import { REPO_ROOT, uniqueToken, waitFor } from '@trellis/testing';
import { configureLogger } from '@trellis/telemetry';
import { startConsoleHarness } from './console-fixtures';

type SimulatedCall = Parameters<NonNullable<SimulatorOptions['respond']>>[0];

const OUT = join(REPO_ROOT, 'docs/console');
const say = (line: string) => process.stderr.write(`docs:console: ${line}\n`);

/** A judge that asks for a second round of the draft, and prefers the calm variant of the pitch. */
function respond(call: SimulatedCall): string | undefined {
  const format = call.responseFormat as { json_schema?: { name?: string } } | null;
  if (format?.json_schema?.name !== 'judge_verdict') return undefined;
  const text = call.messages.map((m) => m.content).join('\n');
  if (text.includes('Write a pitch for')) return JSON.stringify({ score: 0.9, categories: { clarity: 0.92 }, violations: [], feedback: 'Good.' });
  if (text.includes('VARIANT-B')) return JSON.stringify({ score: 0.4, categories: { clarity: 0.35 }, violations: [{ rule: 'tone', severity: 'critical', message: 'shouts at the reader' }], feedback: 'Calm down.' });
  const round = [...text.matchAll(/\(round (\d+)\) scored/g)].length + 1;
  return round === 1
    ? JSON.stringify({ score: 0.62, categories: { accuracy: 0.55, clarity: 0.7 }, violations: [{ rule: 'precision', severity: 'major', message: 'no price given' }], feedback: 'Name the price in euros.' })
    : JSON.stringify({ score: 0.91, categories: { accuracy: 0.93, clarity: 0.88 }, violations: [], feedback: 'Good.' });
}

async function shot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: options.fullPage ?? false });
  say(`docs/console/${name}.png`);
}

async function main(): Promise<void> {
  configureLogger({ service: 'docs-console', level: 'warn' });
  mkdirSync(OUT, { recursive: true });
  const adminToken = `admin-${uniqueToken()}-token`;
  const admin = { headers: { 'x-trellis-admin-token': adminToken } };
  const h = await startConsoleHarness({ env: { TRELLIS_ADMIN_TOKEN: adminToken }, simulator: { respond, latencyMs: 150 } });
  try {
    const api = h.ctx.api;
    const yaml = (file: string) => readFileSync(join(REPO_ROOT, 'examples', file), 'utf8');
    for (const file of ['fan-out-fan-in.yaml', 'support-triage.yaml']) await api.post('/v1/pipelines', yaml(file), { contentType: 'application/yaml' });
    await api.post(
      '/v1/pipelines',
      {
        version: 1,
        name: 'reviewed-pitch',
        description: 'A pitch the judge reviews until it names a price.',
        inputs: { product: { type: 'string', required: true } },
        steps: {
          pitch: {
            prompt: 'Write a one-line pitch for {{ inputs.product }}.',
            verify: { gates: [{ judge: { rubric: 'Precise, with a price.', categories: ['accuracy', 'clarity'] } }], iterate: { max: 3 } },
          },
          announce: { depends_on: ['pitch'], prompt: 'Announce it: {{ steps.pitch.output }}' },
        },
      },
    );
    const bodies = ['Write a pitch for {{ inputs.product }}.\nKeep it short.', 'VARIANT-B WRITE A PITCH FOR {{ inputs.product }}!\nKeep it short.', 'Write a pitch for {{ inputs.product }}.\nName its price.\nKeep it short.'];
    for (const body of bodies) await api.post('/v1/templates', { name: 'pitch', body, author: 'ana', message: 'another try' });
    await api.request('PUT', '/v1/templates/pitch/labels/production', { version: 1 }, admin);
    await api.post('/v1/pipelines', { version: 1, name: 'pitcher', inputs: { product: { type: 'string', required: true } }, steps: { pitch: { template: 'pitch', with: { product: '{{ inputs.product }}' }, verify: { gates: [{ judge: { rubric: 'Calm and concrete.', categories: ['clarity'] } }], iterate: { max: 1 } } } } });
    const experiment = await api.post('/v1/experiments', { template: 'pitch', description: 'calm or loud pitch', variants: [{ name: 'calm', version: 1 }, { name: 'loud', version: 2 }] }, admin);

    say('running the examples');
    const start = async (body: object) => (await api.post('/v1/runs', body)).body.id as string;
    const pitches = await Promise.all(Array.from({ length: 30 }, (_, i) => start({ pipeline: 'pitcher', inputs: { product: `kettle ${i}` }, subject: `user-${i}` })));
    await Promise.all(pitches.map((id) => api.waitForRun(id, 60_000)));
    // One after the other, so that the runs page shows them newest first.
    const ids: Record<string, string> = {};
    const runs: Array<[string, object]> = [
      ['failed', { spec: { version: 1, name: 'flaky-brief', steps: { outline: { prompt: 'Outline a brief' }, draft: { depends_on: ['outline'], prompt: 'Draft it [[sim status=400]]' } } } }],
      // The classifier is told what to answer, so that the ticket is not urgent and the escalation is skipped.
      ['triage', { pipeline: 'support-triage', inputs: { ticket: 'How do I export my invoices? [[sim json=\'{"category":"question","urgency":"normal"}\']]' } }],
      ['pitch', { pipeline: 'reviewed-pitch', inputs: { product: 'a solar kettle' } }],
      ['fan', { pipeline: 'fan-out-fan-in' }],
    ];
    for (const [name, body] of runs) await api.waitForRun((ids[name] = await start(body)), 60_000);
    await waitFor('the experiment to count every run', async () => (await api.get(`/v1/experiments/${experiment.body.id}`)).body.winner, { timeoutMs: 30_000 });

    const page = await h.open('/', { signedIn: false });
    await page.setViewportSize({ width: 1280, height: 880 });
    await page.getByLabel('API key').fill(h.ctx.apiKey);
    await shot(page, 'sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await page.getByRole('link', { name: `Run ${ids.fan}` }).waitFor();
    await shot(page, 'runs');

    await page.getByRole('link', { name: `Run ${ids.fan}` }).click();
    await page.locator('.live-ended').waitFor();
    await page.getByRole('button', { name: 'combine: succeeded' }).waitFor();
    await shot(page, 'run-graph');

    await page.goto(`/runs/${ids.pitch}?step=pitch`);
    await page.getByRole('table', { name: 'Iterations' }).getByText('Name the price in euros.').waitFor();
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.locator('.step-panel').screenshot({ path: join(OUT, 'run-step-iterations.png') });
    say('docs/console/run-step-iterations.png');
    await page.setViewportSize({ width: 1280, height: 880 });

    await page.goto(`/runs/${ids.triage}`);
    await page.locator('.live-ended').waitFor();
    await page.getByRole('button', { name: 'escalate: skipped' }).click();
    await page.getByRole('note', { name: 'Reason' }).waitFor();
    await shot(page, 'run-routed');

    await page.goto(`/runs/${ids.failed}?step=draft`);
    await page.getByRole('note', { name: 'Reason' }).waitFor();
    await page.locator('.live-ended').waitFor();
    await shot(page, 'run-failed');

    // A fork of the fan-out from its combine step with another model, and the comparison.
    await page.goto(`/runs/${ids.fan}?step=combine`);
    await page.getByRole('button', { name: 'Fork from this step' }).click();
    await page.getByRole('form', { name: 'Fork from step combine' }).waitFor();
    await shot(page, 'run-fork');
    const fork = await api.post(`/v1/runs/${ids.fan}/replay`, { mode: 'recorded_else_live', from: 'combine', overrides: { models: { combine: 'gpt-4.1' } } });
    await api.waitForRun(fork.body.id, 60_000);
    await page.goto(`/runs/${ids.fan}/diff/${fork.body.id}`);
    await page.getByRole('heading', { name: 'Step combine: changed' }).waitFor();
    await shot(page, 'run-diff', { fullPage: true });

    await page.goto('/pipelines/support-triage');
    await page.getByLabel('Critical path').waitFor();
    await shot(page, 'pipeline');

    await page.goto('/validate');
    await page.getByLabel('Pipeline YAML').fill(['version: 1', 'name: broken', 'steps:', '  outline:', '    promt: "Outline it"', '  write:', '    prompt: "Write {{ steps.outlin.output }}"', '    depends_on: [outline, review]'].join('\n'));
    await page.getByRole('button', { name: 'Validate', exact: true }).click();
    await page.getByRole('list', { name: 'Problems' }).waitFor();
    await shot(page, 'validate');

    await page.goto('/templates/pitch');
    await page.getByLabel('From version').selectOption('1');
    await page.getByLabel('To version').selectOption('3');
    await page.getByRole('heading', { name: 'Compare versions' }).scrollIntoViewIfNeeded();
    await shot(page, 'template-diff');

    await page.goto(`/experiments/${experiment.body.id}`);
    await page.getByRole('status', { name: 'Winner' }).waitFor();
    await shot(page, 'experiment');
    if (h.browser.problems.length) say(`page problems: ${h.browser.problems.join('; ')}`);
  } finally {
    await h.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`docs:console failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
