import { evaluateKey } from '../conditions/condition';
import type { CompiledPipeline } from '../spec/compiled-pipeline';

/**
 * The concurrency group a run of `pipeline` counts against, from its inputs: `<pipeline>` when
 * the pipeline limits its runs without a key, `<pipeline>#<key value>` with one (so two
 * customers' runs never share a slot), null when it sets no limit. An error when the key cannot
 * be computed from these inputs (the run is refused, naming the key).
 */
export function concurrencyGroup(pipeline: CompiledPipeline, inputs: Record<string, unknown>): { ok: true; group: string | null } | { ok: false; message: string } {
  const c = pipeline.concurrency;
  if (!c) return { ok: true, group: null };
  if (!c.key) return { ok: true, group: pipeline.spec.name };
  const value = evaluateKey(c.key, inputs);
  return value.ok ? { ok: true, group: `${pipeline.spec.name}#${value.value}` } : value;
}

/**
 * Whether a run may start now: its project has fewer than `maxRunning` runs running, and its
 * concurrency group fewer than the pipeline's `max`. Counts are of running runs only.
 */
export function admits(limits: { maxRunning: number; groupMax?: number }, running: { project: number; group?: number }): boolean {
  if (running.project >= limits.maxRunning) return false;
  return limits.groupMax === undefined || (running.group ?? 0) < limits.groupMax;
}

/**
 * An estimate of how long a queued run waits: the runs ahead of it (its position − 1, plus the
 * one it waits for) finish at the rate the project's slots turn over, one mean run duration per
 * `slots` runs. Null without a duration to go by.
 */
export function estimatedWaitMs(position: number, slots: number, meanDurationMs: number | null): number | null {
  if (meanDurationMs === null || slots <= 0) return null;
  return Math.round(Math.ceil(position / slots) * meanDurationMs);
}
