import { join } from 'node:path';
import { ExecutorHarness } from './executor-harness';

/** A misconfigured executor stops at start, naming what is wrong, instead of failing steps later. */
describe('executor start-up checks', () => {
  let h: ExecutorHarness;

  beforeAll(async () => {
    h = await ExecutorHarness.start();
  });
  afterAll(() => h?.stop(), 30_000);

  const startFails = async (env: NodeJS.ProcessEnv) => {
    await expect(h.startExecutor(env)).rejects.toThrow(/exited before it was ready/);
    const p = [...h.executors.values()].at(-1)!;
    return { code: await p.exited(), output: p.recentOutput() };
  };

  it('exits 78 naming every bad field of the providers file', async () => {
    const path = h.providersFile('version: 1\nmodels:\n  m:\n    provider: ghost\n    price: { input: -1, output: 1 }\n    context_window: 10\n');
    const { code, output } = await startFails({ TRELLIS_PROVIDERS: path });
    expect(code).toBe(78);
    expect(output).toMatch(/models\.m\.price\.input/);
    expect(output).toMatch(/models\.m\.provider: unknown provider "ghost"/);
  });

  it('exits 78 when a provider key variable is not set', async () => {
    const path = h.providersFile(`version: 1\nproviders:\n  p: { base_url: "http://127.0.0.1:1/v1", api_key_env: TRELLIS_TEST_UNSET_KEY }\n`);
    const { code, output } = await startFails({ TRELLIS_PROVIDERS: path });
    expect(code).toBe(78);
    expect(output).toMatch(/TRELLIS_TEST_UNSET_KEY is not set/);
  });

  it('refuses to start with a custom tool that is not a valid tool', async () => {
    const { code, output } = await startFails({ EXECUTOR_TOOLS_DIR: join(__dirname, 'fixtures/bad-tools') });
    expect(code).not.toBe(0);
    expect(output).toMatch(/broken\.js is invalid: .*name.*input/s);
  });
});
