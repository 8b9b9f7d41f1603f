// `npm run bench:console`: how the console copes with a run of 500 steps, measured in headless
// Chromium against the whole platform. See bench/README.md ("The console").
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { CDPSession, Page } from 'playwright-core';
import { REPO_ROOT, startBrowser, startTestPlatform, waitFor } from '@trellis/testing';
import { configureLogger } from '@trellis/telemetry';
import { percentile } from '../analysis';
import { widePipeline } from './wide-pipeline';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    'latency-ms': { type: 'string', default: '400' },
    out: { type: 'string' },
  },
});
const STEPS = Number(args.steps);
const LATENCY_MS = Number(args['latency-ms']);
const say = (line: string) => process.stderr.write(`bench:console: ${line}\n`);

/** Installed before the page's own scripts: every animation frame's time, and every long task. */
function recordFrames(): void {
  const w = window as unknown as { __frames: number[]; __longTasks: Array<{ start: number; duration: number }> };
  w.__frames = [];
  w.__longTasks = [];
  const tick = (t: number) => {
    w.__frames.push(t);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}

interface Window_ {
  from: number;
  to: number;
}

/** Frame intervals and long tasks of the page between two of its clock readings. */
async function framesBetween(page: Page, window: Window_) {
  const { frames, longTasks } = await page.evaluate(() => {
    const w = globalThis as unknown as { __frames: number[]; __longTasks: Array<{ start: number; duration: number }> };
    return { frames: w.__frames, longTasks: w.__longTasks };
  });
  const inWindow = frames.filter((t) => t >= window.from && t <= window.to);
  const intervals = inWindow.slice(1).map((t, i) => t - inWindow[i]!);
  const tasks = longTasks.filter((t) => t.start >= window.from && t.start <= window.to);
  const r = (v: number | undefined) => (v === undefined ? null : Math.round(v * 10) / 10);
  return {
    windowMs: Math.round(window.to - window.from),
    frames: intervals.length,
    frameMs: { p50: r(percentile(intervals, 50)), p95: r(percentile(intervals, 95)), p99: r(percentile(intervals, 99)), max: r(Math.max(...intervals)) },
    framesOver50ms: intervals.filter((d) => d > 50).length,
    longTasks: { count: tasks.length, totalMs: Math.round(tasks.reduce((n, t) => n + t.duration, 0)), maxMs: Math.round(Math.max(0, ...tasks.map((t) => t.duration))) },
  };
}

/**
 * The renderer's main-thread time by kind, from Chromium's own counters (CDP Performance
 * metrics): busy time, where wall-clock frame times also count the other processes sharing the
 * cores, which on this machine run the whole platform.
 */
async function mainThreadTime(cdp: CDPSession): Promise<Record<'taskMs' | 'scriptMs' | 'layoutMs' | 'styleMs', number>> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const ms = (name: string) => Math.round((metrics.find((m) => m.name === name)?.value ?? 0) * 1000);
  return { taskMs: ms('TaskDuration'), scriptMs: ms('ScriptDuration'), layoutMs: ms('LayoutDuration'), styleMs: ms('RecalcStyleDuration') };
}

const minus = <K extends string>(a: Record<K, number>, b: Record<K, number>) => Object.fromEntries(Object.keys(a).map((k) => [k, a[k as K] - b[k as K]])) as Record<K, number>;

/** When the page marked its graph drawn (ms since navigation), waiting for it. */
async function graphRenderedAt(page: Page): Promise<number> {
  await page.waitForFunction(() => performance.getEntriesByName('trellis:graph-rendered').length > 0, undefined, { timeout: 120_000 });
  return page.evaluate(() => performance.getEntriesByName('trellis:graph-rendered')[0]!.startTime);
}

function assetSizes() {
  const dir = join(REPO_ROOT, 'dist/console');
  const files = readdirSync(join(dir, 'assets')).filter((f) => /\.(js|css)$/.test(f));
  const size = (f: string) => statSync(f).size;
  const list = files.map((f) => ({ file: `assets/${f}`, bytes: size(join(dir, 'assets', f)), gzipBytes: size(join(dir, 'assets', `${f}.gz`)) }));
  const first = list.filter((f) => /^assets\/index-/.test(f.file));
  const sum = (xs: typeof list, k: 'bytes' | 'gzipBytes') => xs.reduce((n, f) => n + f[k], 0);
  return { files: list, totalBytes: sum(list, 'bytes'), totalGzipBytes: sum(list, 'gzipBytes'), firstLoadBytes: sum(first, 'bytes'), firstLoadGzipBytes: sum(first, 'gzipBytes') };
}

async function main(): Promise<number> {
  configureLogger({ service: 'bench-console', level: 'warn' });
  const startedAt = new Date();
  const loadAtStart = Math.round(loadavg()[0]! * 10) / 10;
  say(`starting the platform (simulator latency ${LATENCY_MS} ms) and Chromium`);
  const browser = await startBrowser();
  const ctx = await startTestPlatform({ simulator: { latencyMs: LATENCY_MS } }).catch(async (err) => {
    await browser.close();
    throw err;
  });
  try {
    const { spec, stepIds } = widePipeline('console-bench', STEPS);
    const registered = await ctx.api.post('/v1/pipelines', spec);
    if (registered.status !== 201) throw new Error(`the bench pipeline did not register: ${JSON.stringify(registered.body)}`);

    const page = await browser.newPage(ctx.platform.gatewayUrl, { viewport: { width: 1400, height: 900 } });
    await page.goto('/');
    await page.getByLabel('API key').fill(ctx.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    // Warm the page's code (the run page's chunk) and the gateway with a small run's page.
    const warm = await ctx.api.post('/v1/runs', { spec: widePipeline('warm-up', 30).spec });
    await ctx.api.waitForRun(warm.body.id, 60_000);
    await page.goto(`/runs/${warm.body.id}`);
    await graphRenderedAt(page);

    say(`a run of ${stepIds.length} steps: opening its page while it runs`);
    await page.addInitScript(recordFrames);
    const started = await ctx.api.post('/v1/runs', { pipeline: 'console-bench' });
    const runId = started.body.id as string;
    const t0 = Date.now();
    await page.goto(`/runs/${runId}`);
    const renderedWhileRunning = await graphRenderedAt(page);
    // The counters run from Performance.enable on, for this page's renderer.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const busyAtRender = await mainThreadTime(cdp);
    // Inside the measured window the bench only uses CSS selectors: role queries walk the whole
    // accessibility tree on every poll and would load the page they measure.
    const nodesInDom = await page.locator('.step-node').count();
    // Responsiveness while statuses stream: open a step from the timeline, time until its panel shows (in the page's clock).
    const panelOpenMs = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const t0 = performance.now();
          const rows = document.querySelectorAll<HTMLButtonElement>('.timeline-name');
          const root = [...rows].find((b) => b.textContent === 'root')!;
          const seen = new MutationObserver(() => {
            if (document.querySelector('#step-title')) {
              seen.disconnect();
              requestAnimationFrame(() => resolve(performance.now() - t0));
            }
          });
          seen.observe(document.body, { childList: true, subtree: true });
          root.click();
        }),
    );
    await page.locator('.step-panel button.secondary').click();
    await page.locator('.live-ended').waitFor({ timeout: 300_000 });
    const streamEnd = await page.evaluate(() => performance.now());
    const busyWhileStreaming = minus(await mainThreadTime(cdp), busyAtRender);
    await cdp.detach();
    const runMs = Date.now() - t0;
    const run = (await ctx.api.get(`/v1/runs/${runId}`)).body as { status: string; steps: Array<{ status: string }> };
    const succeededOnPage = await page.locator('.step-node.node-succeeded[aria-label="join: succeeded"]').count();
    const whileRunning = await framesBetween(page, { from: renderedWhileRunning, to: streamEnd });
    const heap = await page.evaluate(() => (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null);

    say('opening the finished run (a reload: its whole history replays)');
    await page.reload();
    const renderedFinished = await graphRenderedAt(page);
    await page.locator('.live-ended').waitFor({ timeout: 120_000 });
    const replayEnd = await page.evaluate(() => performance.now());
    const finished = await framesBetween(page, { from: renderedFinished, to: replayEnd });
    const allSucceeded = await waitFor('every node to show succeeded', async () => {
      const counts = await page.evaluate(() => document.querySelectorAll('.step-node.node-succeeded').length);
      return counts > 0 ? counts : undefined;
    });

    const results = {
      startedAt: startedAt.toISOString(),
      // The 1-minute load average at the start and the end: other work on the machine moves every figure.
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, chromium: browser.browser.version(), loadAverage: [loadAtStart, Math.round(loadavg()[0]! * 10) / 10] },
      options: { steps: stepIds.length, modelLatencyMs: LATENCY_MS, viewport: '1400x900' },
      run: { id: runId, status: run.status, steps: run.steps.length, succeeded: run.steps.filter((s) => s.status === 'succeeded').length, wallMs: runMs },
      openWhileRunning: {
        graphRenderedMs: Math.round(renderedWhileRunning),
        stepNodesInDom: nodesInDom,
        panelOpenMs: Math.round(panelOpenMs),
        whileStatusesStream: { ...whileRunning, mainThread: busyWhileStreaming },
        joinShownSucceeded: succeededOnPage === 1,
        jsHeapBytes: heap,
      },
      openFinished: { graphRenderedMs: Math.round(renderedFinished), untilReplayEnded: finished, nodesShownSucceeded: allSucceeded },
      assets: assetSizes(),
      problems: [...browser.problems],
    };
    const out = args.out ?? join(REPO_ROOT, 'bench/results', `console-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    const f = results.openWhileRunning.whileStatusesStream;
    process.stdout.write(
      [
        `run of ${results.run.steps} steps: ${results.run.status} in ${(runMs / 1000).toFixed(1)} s (model latency ${LATENCY_MS} ms; machine load ${results.machine.loadAverage.join(' → ')} on ${results.machine.cpus} cores)`,
        `open while running: graph drawn ${results.openWhileRunning.graphRenderedMs} ms after navigation; a step's panel drawn ${Math.round(panelOpenMs)} ms after a click`,
        `while statuses stream (${(f.windowMs / 1000).toFixed(1)} s): frame p50 ${f.frameMs.p50} ms, p95 ${f.frameMs.p95} ms, p99 ${f.frameMs.p99} ms, max ${f.frameMs.max} ms; ${f.framesOver50ms} frames over 50 ms; ${f.longTasks.count} long tasks (${f.longTasks.totalMs} ms)`,
        `  main thread busy meanwhile: ${f.mainThread.taskMs} ms of ${f.windowMs} ms (script ${f.mainThread.scriptMs}, layout ${f.mainThread.layoutMs}, style ${f.mainThread.styleMs})`,
        `open finished: graph drawn ${results.openFinished.graphRenderedMs} ms after navigation; replay: frame p95 ${finished.frameMs.p95} ms, max ${finished.frameMs.max} ms`,
        `assets: ${(results.assets.totalBytes / 1024).toFixed(0)} kB (${(results.assets.totalGzipBytes / 1024).toFixed(0)} kB gzipped); first load ${(results.assets.firstLoadBytes / 1024).toFixed(0)} kB (${(results.assets.firstLoadGzipBytes / 1024).toFixed(0)} kB gzipped)`,
        `results: ${relative(process.cwd(), out)}`,
      ].join('\n') + '\n',
    );
    if (results.problems.length) say(`page problems: ${results.problems.join('; ')}`);
    return run.status === 'succeeded' && results.problems.length === 0 ? 0 : 1;
  } finally {
    await browser.close();
    await ctx.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:console failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  },
);
