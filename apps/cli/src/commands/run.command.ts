import { existsSync, readFileSync } from 'node:fs';
import type { PipelineView, RunView } from '@trellis/contracts';
import { runEvents } from '../client/event-stream';
import type { GatewayClient } from '../client/gateway-client';
import { PlainRenderer, TtyRenderer, type Renderer } from '../live/renderers';
import { RunProgress } from '../live/run-progress';
import { describeError, type Io } from './output';

/** The process exit code of a run's outcome. */
export const EXIT_CODE: Record<string, number> = { succeeded: 0, failed: 1, cancelled: 130 };

export interface RunOptions {
  target: string;
  inputs: string[];
  live: boolean;
  color: boolean;
}

/**
 * `trellis run <file|name> --input k=v`: registers the file (or uses the registered name),
 * starts the run, shows its steps live from the event stream, prints the final output and
 * exits with the run's outcome. Ctrl-C cancels the run.
 */
export async function runCommand(client: GatewayClient, options: RunOptions, io: Io): Promise<number> {
  const pipeline = await resolvePipeline(client, options.target, io);
  const inputs = parseInputs(options.inputs, pipeline);
  // A live display shows each step's tokens as they come: only then is streaming worth its cost.
  const started = await client.request<RunView>('POST', '/v1/runs', { json: { pipeline: pipeline.name, inputs, ...(options.live ? { stream: true } : {}) } });
  io.err.write(`run ${started.id} of ${pipeline.name} v${pipeline.version} started\n`);

  return followRun(client, started, { ...options, onInterrupt: 'cancel' }, io);
}

/**
 * Shows a run live until it ends, then its result; answers the exit code of its outcome.
 * Ctrl-C cancels the run (`cancel`) or only stops watching it (`detach`).
 */
export async function followRun(
  client: GatewayClient,
  started: RunView,
  options: { live: boolean; color: boolean; onInterrupt: 'cancel' | 'detach' },
  io: Io,
): Promise<number> {
  const progress = new RunProgress(started);
  const renderer: Renderer = options.live ? new TtyRenderer(io.out, options.color) : new PlainRenderer(io.out);
  renderer.update(progress, undefined);
  const stop = new AbortController();
  let interrupted = false;
  const onSigint = () => {
    if (interrupted || options.onInterrupt === 'detach') {
      renderer.finish(progress);
      process.exit(130);
    }
    interrupted = true;
    io.err.write('\ncancelling the run (Ctrl-C again to leave it running)…\n');
    void client.request('POST', `/v1/runs/${started.id}/cancel`).catch((err: Error) => io.err.write(`cancel failed: ${err.message}\n`));
  };
  process.on('SIGINT', onSigint);
  try {
    for await (const { envelope } of runEvents(client, started.id, stop.signal)) {
      renderer.update(progress, progress.apply(envelope));
    }
  } catch (err) {
    renderer.finish(progress);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }

  const run = await client.request<RunView>('GET', `/v1/runs/${started.id}`);
  // The final state wins over any event the stream did not carry.
  for (const changed of progress.reconcile(run)) renderer.update(progress, changed);
  renderer.finish(progress);
  const seconds = run.finishedAt ? ((Date.parse(run.finishedAt) - Date.parse(run.createdAt)) / 1000).toFixed(2) : '?';
  io.out.write(`run ${run.status} in ${seconds} s · ${run.usage.inputTokens} input + ${run.usage.outputTokens} output tokens · ${run.id}\n`);
  if (run.error) io.out.write(`error: ${run.error.code}: ${run.error.message}\n`);
  const last = [...run.steps].reverse().find((s) => s.status === 'succeeded' && s.output);
  if (run.status === 'succeeded' && last) io.out.write(`\n--- ${last.id} ---\n${last.output}\n`);
  for (const p of run.products) io.out.write(p.error === undefined ? `product ${p.path} (${p.size} bytes): trellis products ${run.id} --out <dir>\n` : `product ${p.path} not built: ${p.error}\n`);
  return EXIT_CODE[run.status] ?? 1;
}

async function resolvePipeline(client: GatewayClient, target: string, io: Io): Promise<PipelineView> {
  if (existsSync(target)) {
    const text = readFileSync(target, 'utf8');
    const body = target.endsWith('.json') ? { json: JSON.parse(text) as unknown } : { yaml: text };
    const registered = await client.request<PipelineView>('POST', '/v1/pipelines', body).catch((err: unknown) => {
      throw new Error(describeError(err, target));
    });
    io.err.write(`registered ${registered.name} v${registered.version}: ${registered.plan.batches.map((b) => `[${b.join(' ')}]`).join(' → ')}\n`);
    return registered;
  }
  if (/[/\\]|\.(ya?ml|json)$/.test(target)) throw new Error(`no file ${target}`);
  return client.request<PipelineView>('GET', `/v1/pipelines/${encodeURIComponent(target)}`);
}

/** `k=v` pairs, each value converted to the type the pipeline declares for the input. */
export function parseInputs(pairs: string[], pipeline: Pick<PipelineView, 'spec'>): Record<string, unknown> {
  const declared = ((pipeline.spec as { inputs?: Record<string, { type?: string }> })?.inputs ?? {}) as Record<string, { type?: string }>;
  const inputs: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`--input takes name=value, not "${pair}"`);
    const name = pair.slice(0, eq);
    const raw = pair.slice(eq + 1);
    const type = declared[name]?.type ?? 'string';
    inputs[name] = convert(name, raw, type);
  }
  return inputs;
}

function convert(name: string, raw: string, type: string): unknown {
  switch (type) {
    case 'number':
    case 'integer': {
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n)) throw new UsageError(`--input ${name} must be a number`);
      return n;
    }
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--input ${name} must be true or false`);
      return raw === 'true';
    case 'object':
    case 'array':
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new UsageError(`--input ${name} must be JSON (an ${type})`);
      }
    default:
      return raw;
  }
}

export class UsageError extends Error {}
