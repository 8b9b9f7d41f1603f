import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { RunSummary } from '@trellis/contracts';
import { freePort } from '@trellis/devstack';
import { startSimulator, type SimulatorHandle } from '@trellis/llm';
import { connectNats, deleteNamespace } from '@trellis/messaging';
import { createTestDatabase, createTestNamespace, REPO_ROOT, testEnv, uniqueToken, waitFor } from '@trellis/testing';

const CLI = resolve(REPO_ROOT, 'dist/apps/cli/src/main.js');

/** `trellis up --example …` (what `npm start` runs) as a child process, in its own database, namespace and port. */
async function startUp(env: NodeJS.ProcessEnv) {
  const db = await createTestDatabase();
  const namespace = createTestNamespace();
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'up', '--example', 'examples/fan-out-fan-in.yaml'], {
    cwd: REPO_ROOT,
    env: { ...testEnv.inherited, DATABASE_URL: db.url, NATS_URL: testEnv.natsUrl, TRELLIS_NAMESPACE: namespace, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const up = {
    gatewayUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    /** The API key it printed (generated: TRELLIS_API_KEY is not set). */
    apiKey: () => /API key\s+(\S+)/.exec(output)?.[1],
    interrupt: () => {
      child.kill('SIGINT');
      return exited;
    },
    async cleanup() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      const nc = await connectNats({ servers: testEnv.natsUrl.split(','), name: 'test-cleanup' });
      await deleteNamespace(nc, namespace).catch(() => undefined);
      await nc.close();
      await db.drop();
    },
  };
  try {
    await waitFor(
      'trellis up to run the example and wait for Ctrl-C',
      () => {
        if (child.exitCode !== null) throw new Error(`trellis up exited with ${child.exitCode}:\n${output}`);
        return output.includes('Press Ctrl-C to stop.');
      },
      { timeoutMs: 120_000, intervalMs: 100 },
    );
  } catch (err) {
    await up.cleanup();
    throw err;
  }
  return up;
}

/**
 * The README's path with a real provider, against a model server that refuses any request
 * without its key. Every variable of the caller's environment reaches the services (ADR 0009):
 * the provider key (every model call answered), the admin token (a project created), a
 * providers file (costs priced) and a tuning variable (one step in flight at a time).
 */
describe('trellis up with a provider that demands a key', () => {
  const providerKey = `sk-provider-${uniqueToken()}`;
  const adminToken = `admin-${uniqueToken()}-token`;
  let sim: SimulatorHandle;
  let up: Awaited<ReturnType<typeof startUp>> | undefined;

  beforeAll(async () => {
    sim = await startSimulator({ apiKey: providerKey, latencyMs: 40 });
    up = await startUp({
      OPENAI_BASE_URL: sim.url,
      OPENAI_API_KEY: providerKey,
      TRELLIS_ADMIN_TOKEN: adminToken,
      TRELLIS_PROVIDERS: join(REPO_ROOT, 'deploy/simulator-catalog.yaml'),
      EXECUTOR_CONCURRENCY: '1',
    });
  }, 150_000);
  afterAll(async () => {
    await up?.cleanup();
    await sim?.close();
  }, 60_000);

  it('runs the example end to end with the provider key on every model call', () => {
    expect(up!.output()).toMatch(/trellis: run succeeded in [\d.]+ s/);
    expect(up!.output()).not.toContain('answered by the simulator');
    // plan, eight experts, combine: each answered, none refused for its key.
    expect(sim.requests().map((c) => c.status)).toEqual(Array(10).fill(200));
  });

  it('gives the executor the tuning it was started with: one step in flight at a time', () => {
    const calls = sim.requests();
    const overlapping = Math.max(...calls.map((c) => calls.filter((o) => o.receivedAt < c.respondedAt! && c.receivedAt < o.respondedAt!).length));
    expect(overlapping).toBe(1);
  });

  it('prices the run from the providers file it was given', async () => {
    const res = await fetch(`${up!.gatewayUrl}/v1/runs`, { headers: { authorization: `Bearer ${up!.apiKey()}` } });
    const runs = ((await res.json()) as { items: RunSummary[] }).items;
    expect(runs).toEqual([expect.objectContaining({ pipeline: 'fan-out-fan-in', status: 'succeeded' })]);
    expect(runs[0]!.cost).toBeGreaterThan(0);
  });

  it('administers projects with the admin token it was started with', async () => {
    const created = await fetch(`${up!.gatewayUrl}/v1/projects`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'team-a' }),
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: 'team-a' });
  });

  it('stops every process cleanly on Ctrl-C', async () => {
    expect(await up!.interrupt()).toBe(0);
    expect(up!.output()).toContain('trellis: stopped.');
    await expect(fetch(`${up!.gatewayUrl}/healthz`)).rejects.toThrow();
  }, 60_000);
});

/** Without OPENAI_BASE_URL, `npm start` runs its own simulator, which demands a key it generated and gave the services. */
describe('trellis up with its own simulator', () => {
  let up: Awaited<ReturnType<typeof startUp>> | undefined;

  beforeAll(async () => {
    up = await startUp({ SIM_LATENCY_MS: '0' });
  }, 150_000);
  afterAll(() => up?.cleanup(), 60_000);

  it("prints the console's URL, where the gateway serves the console", async () => {
    expect(up!.output()).toContain(`Console   ${up!.gatewayUrl}/`);
    const page = await fetch(`${up!.gatewayUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="root">');
  });

  it('runs the example through a simulator that refuses a request without the generated key', async () => {
    expect(up!.output()).toMatch(/trellis: run succeeded in [\d.]+ s/);
    const simulatorUrl = /answered by the simulator at (\S+)/.exec(up!.output())?.[1];
    const anonymous = await fetch(`${simulatorUrl}/models`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
    expect(await up!.interrupt()).toBe(0);
  }, 60_000);
});
