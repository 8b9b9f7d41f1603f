import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { PipelineView, ReplayMode, RunDiff, RunExport, RunView, StepDiff } from '@trellis/contracts';
import { GatewayRequestError, type GatewayClient } from '../client/gateway-client';
import type { Io } from './output';
import { followRun, parseInputs, UsageError } from './run.command';

export interface ReplayOptions {
  run: string;
  mode?: string;
  from?: string;
  inputs: string[];
  /** `name@selector`, each. */
  templates: string[];
  /** `step=model`, each. */
  models: string[];
  /** A pipeline file to replay on instead of the source's spec. */
  spec?: string;
  /** Replay on the recording and exit 1 when a prompt, an output or a status differs. */
  check: boolean;
  live: boolean;
  color: boolean;
}

const MODES: readonly ReplayMode[] = ['recorded', 'live', 'recorded_else_live'];
/** What `--check` fails on: a step that ran differently, not one that merely cost or took another amount. */
const CHECKED: ReadonlySet<StepDiff['changed'][number]> = new Set(['status', 'prompt', 'output']);

/**
 * `trellis replay <run>`: replays a finished run (docs/replay.md), shows it live, then its diff
 * against the source. With `--check`, on the recording only (no model is called) and with the
 * exit code of the comparison: 0 when every step sent the same prompt and gave the same output,
 * 1 otherwise — a regression check for a pipeline repository's CI. Otherwise the run's outcome.
 */
export async function replayCommand(client: GatewayClient, options: ReplayOptions, io: Io): Promise<number> {
  const mode = (options.mode ?? (options.check ? 'recorded' : 'recorded_else_live')) as ReplayMode;
  if (!MODES.includes(mode)) throw new UsageError(`--mode is one of ${MODES.join(', ')}`);
  const source = await client.request<RunView>('GET', `/v1/runs/${encodeURIComponent(options.run)}`);
  const spec = options.spec === undefined ? undefined : readSpec(options.spec);
  const inputs = options.inputs.length ? parseInputs(options.inputs, { spec: spec?.parsed ?? (await sourceSpec(client, source)) }) : undefined;
  const templates = pairs(options.templates, '@', '--template takes name@selector');
  const models = pairs(options.models, '=', '--model takes step=model');
  const overrides = {
    ...(inputs ? { inputs } : {}),
    ...(Object.keys(templates).length ? { templates } : {}),
    ...(Object.keys(models).length ? { models } : {}),
    ...(spec ? { spec: spec.body } : {}),
  };
  const started = await client.request<RunView>('POST', `/v1/runs/${encodeURIComponent(source.id)}/replay`, {
    json: { mode, ...(options.from ? { from: options.from } : {}), ...(Object.keys(overrides).length ? { overrides } : {}) },
  });
  const reused = started.steps.filter((s) => s.reused).map((s) => s.id);
  io.err.write(`run ${started.id} replays ${source.id} (${mode}${options.from ? `, from ${options.from}` : ''})${reused.length ? `; carried over: ${reused.join(', ')}` : ''}\n`);
  const outcome = await followRun(client, started, { live: options.live, color: options.color, onInterrupt: 'cancel' }, io);
  const diff = await client.request<RunDiff>('GET', `/v1/runs/${source.id}/diff/${started.id}`);
  io.out.write(`\n${formatDiff(diff)}`);
  if (!options.check) return outcome;
  const regressions = regressionsOf(diff);
  io.out.write(regressions.length ? `check failed: ${regressions.join(', ')} differ from ${source.id}\n` : `check passed: every prompt and output is as in ${source.id}\n`);
  return regressions.length ? 1 : 0;
}

/** `trellis diff <a> <b>`: two runs step by step; exit 0 when identical, 1 when not. */
export async function diffCommand(client: GatewayClient, a: string, b: string, json: boolean, io: Io): Promise<number> {
  const diff = await client.request<RunDiff>('GET', `/v1/runs/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`);
  io.out.write(json ? `${JSON.stringify(diff, null, 2)}\n` : formatDiff(diff));
  return diff.summary.identical ? 0 : 1;
}

/** `trellis runs export <run> [--out file]`: the run as a file (stdout without --out). */
export async function exportCommand(client: GatewayClient, runId: string, out: string | undefined, io: Io): Promise<number> {
  const file = await client.request<RunExport>('GET', `/v1/runs/${encodeURIComponent(runId)}/export`);
  const text = `${JSON.stringify(file, null, 2)}\n`;
  if (out === undefined) io.out.write(text);
  else {
    writeFileSync(out, text);
    io.err.write(`run ${file.run.id} (${file.calls.length} recorded call(s)) written to ${out}\n`);
  }
  return 0;
}

/** `trellis runs import <file>`: the exported run into this project; prints its new id. */
export async function importCommand(client: GatewayClient, path: string, io: Io): Promise<number> {
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not a run export: ${(err as Error).message}`);
  }
  const run = await client.request<RunView>('POST', '/v1/runs/import', { json: file });
  io.err.write(`imported ${path} as run ${run.id} (${run.pipeline}, ${run.status})\n`);
  io.out.write(`${run.id}\n`);
  return 0;
}

/** The steps whose status, prompt or output differ, and those only one run has. */
export function regressionsOf(diff: RunDiff): string[] {
  return diff.steps.filter((s) => s.change === 'added' || s.change === 'removed' || s.changed.some((c) => CHECKED.has(c))).map((s) => s.id);
}

/** A diff as a person reads it: the summary, a line per step, the unified diffs of what changed, the cost and time. */
export function formatDiff(diff: RunDiff): string {
  const lines: string[] = [];
  const { summary } = diff;
  lines.push(
    summary.identical
      ? `${diff.a} → ${diff.b}: identical (${diff.steps.length} step(s))`
      : `${diff.a} → ${diff.b}: ${[summary.changed.length ? `changed ${summary.changed.join(', ')}` : '', summary.added.length ? `added ${summary.added.join(', ')}` : '', summary.removed.length ? `removed ${summary.removed.join(', ')}` : ''].filter(Boolean).join('; ')}`,
  );
  for (const s of diff.steps) {
    const how = s.reused.b ? ' (carried over)' : s.recorded.b ? ' (recorded)' : '';
    const status = s.status.a === s.status.b ? `${s.status.a}` : `${s.status.a ?? '-'} → ${s.status.b ?? '-'}`;
    lines.push(`  ${s.id}: ${s.change}${s.changed.length ? ` (${s.changed.join(', ')})` : ''} · ${status}${how}`);
  }
  for (const s of diff.steps) {
    if (s.change !== 'changed') continue;
    if (s.changed.includes('model')) lines.push(`${s.id} model: ${s.model.a} → ${s.model.b}`);
    if (s.changed.includes('template')) lines.push(`${s.id} template: ${templateName(s.template.a)} → ${templateName(s.template.b)}`);
    if (s.changed.includes('score')) lines.push(`${s.id} score: ${s.score.a ?? '-'} → ${s.score.b ?? '-'}`);
    if (s.error.b && s.status.b !== 'succeeded') lines.push(`${s.id} ${s.status.b}: ${s.error.b.code}: ${s.error.b.message}`);
    // A step that gave no answer this time: why is its diff.
    if (s.status.a === 'succeeded' && s.status.b !== 'succeeded') continue;
    if (!s.prompt.equal && s.prompt.patch) lines.push(s.prompt.patch.trimEnd());
    if (!s.output.equal && s.output.patch) lines.push(s.output.patch.trimEnd());
  }
  const seconds = (ms: number | null) => (ms === null ? '?' : `${(ms / 1000).toFixed(2)} s`);
  const sign = (n: number) => (n >= 0 ? `+${n}` : `${n}`);
  const usd = (n: number) => `$${n.toFixed(6)}`;
  lines.push(
    `cost: ${usd(diff.cost.a)} → ${usd(diff.cost.b)} (${diff.cost.delta >= 0 ? '+' : '-'}${usd(Math.abs(diff.cost.delta))}) · time: ${seconds(diff.durationMs.a)} → ${seconds(diff.durationMs.b)}${diff.durationMs.delta === null ? '' : ` (${sign(Math.round(diff.durationMs.delta))} ms)`}`,
  );
  return `${lines.join('\n')}\n`;
}

function templateName(t: { name: string; version: number } | null): string {
  return t ? `${t.name} v${t.version}` : '-';
}

/** `k<sep>v` pairs as a record; `k` and `v` must both be there. */
function pairs(items: string[], sep: string, usage: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const at = item.indexOf(sep);
    if (at < 1 || at === item.length - 1) throw new UsageError(`${usage}, not "${item}"`);
    Object.defineProperty(out, item.slice(0, at), { value: item.slice(at + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A pipeline file as the replay body carries it (YAML text or a JSON object), and its parsed form for input types. */
function readSpec(path: string): { body: unknown; parsed: unknown } {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.json')) {
    const json = JSON.parse(text) as unknown;
    return { body: json, parsed: json };
  }
  return { body: text, parsed: parseYaml(text) as unknown };
}

/** The source's registered spec, for the types of `--input` values (strings when the pipeline is not registered). */
async function sourceSpec(client: GatewayClient, run: RunView): Promise<unknown> {
  if (run.pipelineVersion === 0) return undefined;
  try {
    return (await client.request<PipelineView>('GET', `/v1/pipelines/${encodeURIComponent(run.pipeline)}`)).spec;
  } catch (err) {
    if (err instanceof GatewayRequestError && err.status === 404) return undefined;
    throw err;
  }
}
