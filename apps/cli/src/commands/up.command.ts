import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { findOrStartInfrastructure, freePort, Platform, ServiceProcess, serviceScript } from '@trellis/devstack';
import type { RunView } from '@trellis/contracts';
import { configureLogger } from '@trellis/telemetry';

const ROOT = resolve(__dirname, '../../../../..');

/**
 * `npm start`: PostgreSQL and NATS (found or started), the simulator when no model endpoint
 * is configured, every service as its own process; then, with `--example`, one pipeline
 * registered and run end to end with its result printed. Ctrl-C stops everything.
 */
export async function up(options: { example?: string; executors: number; env: NodeJS.ProcessEnv }): Promise<number> {
  configureLogger({ service: 'trellis-up', level: 'warn' });
  const t0 = performance.now();
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const stateDir = resolve(ROOT, '.trellis');

  say('trellis: starting PostgreSQL and NATS…');
  const infra = await findOrStartInfrastructure({ env: options.env, stateDir });
  const cleanups: Array<() => Promise<unknown>> = [() => infra.stop()];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  try {
    // The caller's whole environment reaches every service (ADR 0009); the platform's own values go on top.
    let openaiBaseUrl = options.env.OPENAI_BASE_URL;
    const platformEnv: NodeJS.ProcessEnv = {};
    let openaiApiKey: string | undefined;
    if (!openaiBaseUrl) {
      // The simulator's models come with a catalog: capabilities, tiers and prices.
      if (!options.env.TRELLIS_PROVIDERS) platformEnv.TRELLIS_PROVIDERS = resolve(ROOT, 'deploy/simulator-catalog.yaml');
      // It demands a key, as a provider does, so the path a real key takes is the one exercised here.
      openaiApiKey = `sk-sim-${randomBytes(18).toString('base64url')}`;
      const port = await freePort();
      const simulator = new ServiceProcess({
        name: 'simulator',
        script: serviceScript(ROOT, 'simulator'),
        port,
        readyPath: '/healthz',
        env: { ...options.env, SIM_PORT: String(port), SIM_API_KEY: openaiApiKey, SIM_LATENCY_MS: options.env.SIM_LATENCY_MS ?? '150' },
      });
      simulator.start();
      cleanups.push(() => simulator.stop());
      await simulator.waitReady();
      openaiBaseUrl = `${simulator.url}/v1`;
      say(`trellis: no OPENAI_BASE_URL set, so models are answered by the simulator at ${openaiBaseUrl}`);
    }

    const apiKey = options.env.TRELLIS_API_KEY ?? `trls_dev_${randomBytes(18).toString('base64url')}`;
    say(`trellis: starting gateway, planner, ${options.executors} executor(s), verifier, template-registry…`);
    const platform = await Platform.start({
      rootDir: ROOT,
      inherit: options.env,
      databaseUrl: infra.databaseUrl,
      natsUrl: infra.natsUrl,
      namespace: options.env.TRELLIS_NAMESPACE ?? 'default',
      apiKey,
      openaiBaseUrl,
      ...(openaiApiKey ? { openaiApiKey } : {}),
      env: platformEnv,
      executors: options.executors,
      gatewayPort: Number(options.env.PORT ?? 3000),
      logLevel: options.env.LOG_LEVEL ?? 'warn',
      echo: true,
    });
    cleanups.push(() => platform.stop());
    say(`trellis: ready in ${((performance.now() - t0) / 1000).toFixed(1)} s${infra.started.length ? ` (started ${infra.started.join(', ')})` : ''}`);

    if (options.example) await runExample(platform.gatewayUrl, apiKey, resolve(process.cwd(), options.example), say);

    say('');
    say(`  Console   ${platform.gatewayUrl}/   (sign in with the key below)`);
    say(`  Gateway   ${platform.gatewayUrl}`);
    say(`  API key   ${apiKey}${options.env.TRELLIS_API_KEY ? '' : '   (generated; set TRELLIS_API_KEY to choose one)'}`);
    say(`  Try       curl -s -H "Authorization: Bearer ${apiKey}" ${platform.gatewayUrl}/v1/runs`);
    say('');
    say('Press Ctrl-C to stop.');
    await new Promise<void>((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    });
    say('\ntrellis: stopping…');
    await stopAll();
    say('trellis: stopped.');
    return 0;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function runExample(gatewayUrl: string, apiKey: string, file: string, say: (line: string) => void): Promise<void> {
  const headers = { authorization: `Bearer ${apiKey}` };
  const yaml = readFileSync(file, 'utf8');
  const registered = await fetch(`${gatewayUrl}/v1/pipelines`, { method: 'POST', headers: { ...headers, 'content-type': 'application/yaml' }, body: yaml });
  const pipeline = (await registered.json()) as { name: string; version: number; plan: { batches: string[][] }; detail?: string };
  if (!registered.ok) throw new Error(`the example did not register: ${JSON.stringify(pipeline)}`);
  say(`trellis: registered ${pipeline.name} v${pipeline.version}: ${pipeline.plan.batches.map((b) => `[${b.join(' ')}]`).join(' → ')}`);

  const started = await fetch(`${gatewayUrl}/v1/runs`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ pipeline: pipeline.name }) });
  const created = (await started.json()) as RunView;
  if (!started.ok) throw new Error(`the example run did not start: ${JSON.stringify(created)}`);
  say(`trellis: run ${created.id} started`);

  const t0 = performance.now();
  const seen = new Map<string, string>();
  let run: RunView = created;
  while (run.status === 'running' || run.status === 'queued') {
    await new Promise((r) => setTimeout(r, 100));
    run = (await (await fetch(`${gatewayUrl}/v1/runs/${created.id}`, { headers })).json()) as RunView;
    for (const step of run.steps) {
      if (seen.get(step.id) !== step.status) {
        seen.set(step.id, step.status);
        if (step.status !== 'pending') say(`  ${step.id.padEnd(12)} ${step.status}${step.status === 'succeeded' ? `  (${step.usage.inputTokens}+${step.usage.outputTokens} tokens)` : ''}`);
      }
    }
  }
  const seconds = ((performance.now() - t0) / 1000).toFixed(2);
  say(`trellis: run ${run.status} in ${seconds} s, ${run.usage.inputTokens} input + ${run.usage.outputTokens} output tokens, $${run.cost.toFixed(6)}`);
  const last = run.steps.at(-1);
  if (last?.output) say(`\n--- ${last.id} ---\n${last.output}\n`);
  if (run.status !== 'succeeded') throw new Error(`the example run ${run.status}: ${run.error?.message ?? 'see GET /v1/runs/' + run.id}`);
}
