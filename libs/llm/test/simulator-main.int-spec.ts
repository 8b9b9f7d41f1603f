import { transformFile } from '@swc/core';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { eventually } from './helpers';

// The standalone entry as its own process, the way `npm run start:simulator` and the devstack
// run it. Compiled here with swc (as `npm run build` does) so the test needs no prior build.
const ROOT = resolve(__dirname, '../../..');
const SOURCE = join(ROOT, 'libs/llm/src/simulator');

describe('simulator main', () => {
  let outDir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'trellis-sim-'));
    for (const file of await readdir(SOURCE)) {
      if (!file.endsWith('.ts') || file.endsWith('.spec.ts')) continue;
      const { code } = await transformFile(join(SOURCE, file), {
        swcrc: false,
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'commonjs' },
      });
      await writeFile(join(outDir, file.replace(/\.ts$/, '.js')), code);
    }
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(outDir, { recursive: true, force: true });
  });

  function run(env: Record<string, string>) {
    const child = spawn(process.execPath, [join(outDir, 'main.js')], {
      env: { PATH: process.env['PATH'] ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const output = { stdout: '', stderr: '' };
    child.stdout!.on('data', (d: Buffer) => (output.stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output.stderr += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    return { child, output, exited };
  }

  it('prints its URL, serves the API (to SIM_API_KEY only) and the admin endpoints, and stops on SIGTERM even mid-request', async () => {
    const { child, output, exited } = run({ SIM_PORT: '0', SIM_LATENCY_MS: '5', SIM_API_KEY: 'sk-main-key-123456' });
    const headers = { authorization: 'Bearer sk-main-key-123456' };
    const url = await eventually(() => /listening on (http:\/\/\S+\/v1)/.exec(output.stdout)?.[1], 10_000);
    const base = url.replace(/\/v1$/, '');

    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/_sim/config`)).json()).toMatchObject({ latencyMs: 5 });
    const body = JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'ping' }] });
    expect((await fetch(`${url}/chat/completions`, { method: 'POST', body })).status).toBe(401);
    const completion = await fetch(`${url}/chat/completions`, { method: 'POST', headers, body });
    expect(completion.status).toBe(200);
    const recorded = (await (await fetch(`${base}/_sim/requests`)).json()) as { data: Array<{ messages: unknown; status: number }> };
    expect(recorded.data.map((r) => [r.status, r.messages])).toEqual([
      [401, []],
      [200, [{ role: 'user', content: 'ping' }]],
    ]);

    const slow = fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'gpt-4.1', messages: [{ role: 'user', content: '[[sim latency_ms=60000]]' }] }),
    }).catch((err: unknown) => err);
    await eventually(async () => ((await (await fetch(`${base}/_sim/requests`)).json()) as { data: unknown[] }).data.length === 3);
    child.kill('SIGTERM');
    expect(await exited).toEqual([0, null]);
    // The in-flight request was cut, not awaited for a minute (fetch's TypeError comes from another realm under jest).
    expect(await slow).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(output.stdout).toContain('SIGTERM, stopping');
  });

  it('refuses a bad configuration, naming every bad variable', async () => {
    const { output, exited } = run({ SIM_PORT: 'eighty', SIM_LATENCY_MS: '-1' });
    expect(await exited).toEqual([78, null]);
    expect(output.stderr).toContain('invalid configuration');
    expect(output.stderr).toMatch(/SIM_PORT/);
    expect(output.stderr).toMatch(/SIM_LATENCY_MS/);
  });
});
