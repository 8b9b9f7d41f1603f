import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT, runProcess, startTestPlatform, type ProcessResult, type TestPlatform } from '@trellis/testing';

const CLI = resolve(REPO_ROOT, 'dist/apps/cli/src/main.js');
const EXAMPLE = resolve(REPO_ROOT, 'examples/fan-out-fan-in.yaml');

/**
 * The `trellis` CLI against the whole platform, as a user runs it: on a terminal (a pseudo-
 * terminal from util-linux `script`) with the live view, and in plain mode through a pipe.
 */
describe('trellis CLI', () => {
  let ctx: TestPlatform;
  let dir: string;

  const env = (extra: NodeJS.ProcessEnv = {}) => {
    const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TRELLIS_URL: ctx.platform.gatewayUrl, TRELLIS_API_KEY: ctx.apiKey, TERM: 'xterm', ...extra };
    return e;
  };
  const exec = (file: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<ProcessResult> => runProcess(file, args, { env: env(extra), cwd: REPO_ROOT });
  const trellis = (...args: string[]) => exec(process.execPath, [CLI, ...args]);
  /** In a pseudo-terminal: `script -qec` runs the command with a tty as stdout and returns its exit code. */
  const trellisTty = (...args: string[]) => exec('script', ['-qec', [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' '), '/dev/null']);

  beforeAll(async () => {
    ctx = await startTestPlatform({ executors: 2 });
    dir = mkdtempSync(join(tmpdir(), 'trellis-cli-'));
  }, 60_000);
  afterAll(() => ctx?.stop(), 60_000);

  it('runs the example in plain mode: one line per step change, the output, exit code 0', async () => {
    const res = await trellis('run', EXAMPLE, '--input', 'idea=a solar kettle');
    expect(res.stderr).toMatch(/registered fan-out-fan-in v1: \[plan\] → \[expert_1 .*\] → \[combine\]/);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain('\x1b[');
    expect(res.stdout).toMatch(/^step plan succeeded \(gpt-4\.1-mini, \d+\+\d+ tok\)$/m);
    expect(res.stdout).toMatch(/^step combine succeeded \(gpt-4\.1-mini, \d+\+\d+ tok\)$/m);
    expect(res.stdout).toMatch(/^run succeeded in [\d.]+ s · \d+ input \+ \d+ output tokens/m);
    expect(res.stdout).toContain('--- combine ---');
    expect(res.stdout).toContain('a solar kettle');
  });

  it('runs a registered pipeline by name on a terminal with a live, redrawn view', async () => {
    const res = await trellisTty('run', 'fan-out-fan-in', '--input', 'idea=a tty kettle');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('\x1b[?25l'); // cursor hidden while drawing
    expect(res.stdout).toContain('\x1b[2K'); // lines redrawn in place
    expect(res.stdout).toMatch(/\x1b\[\d+A/); // cursor moved back up
    expect(res.stdout).toMatch(/✓ combine/);
    expect(res.stdout).toContain('run succeeded');
  });

  it('draws plain lines under CI even on a terminal', async () => {
    const res = await exec('script', ['-qec', `'${process.execPath}' '${CLI}' run fan-out-fan-in`, '/dev/null'], { CI: 'true' });
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain('\x1b[2K');
    expect(res.stdout).toMatch(/step plan succeeded/);
  });

  it('exits 1 when the run fails, with the reason', async () => {
    const file = join(dir, 'failing.yaml');
    writeFileSync(file, 'version: 1\nname: failing\nsteps:\n  broken:\n    prompt: "no [[sim status=400]]"\n');
    const res = await trellis('run', file);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^step broken failed/m);
    expect(res.stdout).toMatch(/^run failed/m);
  });

  it('refuses to run an invalid file, pointing at file:line:column', async () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, 'version: 1\nname: invalid\nsteps:\n  a:\n    prompt: hi\n    colour: blue\n');
    const res = await trellis('run', file);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${file}:6:5:`);
  });

  it('validates a file: the batches, or every error with file:line:column and exit 1', async () => {
    const ok = await trellis('validate', EXAMPLE);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('valid, 10 step(s) in 3 batch(es)');
    expect(ok.stdout).toContain('batch 3: combine');

    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'version: 1\nname: broken\nsteps:\n  a:\n    prompt: hi\n    depends_on: [ghost]\n    colour: blue\n');
    const bad = await trellis('validate', file);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`${file}:7:5:`);
    expect(bad.stdout).toMatch(/ghost/);
  });

  it('lists and shows pipelines and runs, watches a finished run, and says a run has no products', async () => {
    const pipelines = await trellis('pipelines');
    expect(pipelines.code).toBe(0);
    expect(pipelines.stdout).toMatch(/^fan-out-fan-in\s+1\s/m);
    const runs = await trellis('runs', '--json');
    const items = JSON.parse(runs.stdout) as Array<{ id: string; status: string }>;
    expect(items.length).toBeGreaterThanOrEqual(3);
    const shown = await trellis('runs', items[0]!.id);
    expect(shown.stdout).toMatch(/^STEP\s+STATUS\s+MODEL/m);
    const failed = items.find((r) => r.status === 'failed')!;
    const watched = await trellis('watch', failed.id);
    expect(watched.code).toBe(1);
    expect(watched.stdout).toMatch(/^step broken failed/m);
    expect(watched.stdout).toMatch(/^run failed/m);
    const products = await trellis('products', items[0]!.id, '--out', join(dir, 'out'));
    expect(products.code).toBe(0);
    expect(products.stdout).toContain('has no products');
  });

  it('explains a missing key, an unknown pipeline and a bad --input', async () => {
    const noKey = await exec(process.execPath, [CLI, 'runs'], { TRELLIS_API_KEY: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('TRELLIS_API_KEY');
    const unknown = await trellis('run', 'no-such-pipeline');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no-such-pipeline/);
    const badInput = await trellis('run', 'fan-out-fan-in', '--input', 'idea');
    expect(badInput.code).toBe(2);
  });
});
