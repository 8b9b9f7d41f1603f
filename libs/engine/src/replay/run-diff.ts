import type { JsonChange, RunDiff, RunView, StepDiff, StepDifference, StepView } from '@trellis/contracts';
import microdiff from 'microdiff';
import { conversationText, textDiff } from './text-diff';

/**
 * Two runs compared step by step (`GET /v1/runs/{a}/diff/{b}`): for each step side by side its
 * status, model, template version, score, rounds, tokens, cost and time, the conversation it
 * sent and its output as unified diffs (jsdiff, `diff` on npm), and for JSON outputs what
 * changed structurally (`microdiff`). A step counts as changed when its status, prompt,
 * output, model, template version, score or rounds differ; tokens, cost and time are shown,
 * never counted (a replay answered from a recording spends nothing, a live one differs by
 * chance). The summary lists the changed, added and removed steps.
 */
export function diffRuns(a: RunView, b: RunView): RunDiff {
  const ids = [...a.steps.map((s) => s.id), ...b.steps.map((s) => s.id).filter((id) => !a.steps.some((s) => s.id === id))];
  const steps = ids.map((id) => diffStep(id, a.steps.find((s) => s.id === id), b.steps.find((s) => s.id === id)));
  const durationA = runDuration(a);
  const durationB = runDuration(b);
  const changed = steps.filter((s) => s.change === 'changed').map((s) => s.id);
  const added = steps.filter((s) => s.change === 'added').map((s) => s.id);
  const removed = steps.filter((s) => s.change === 'removed').map((s) => s.id);
  return {
    a: a.id,
    b: b.id,
    summary: { identical: changed.length + added.length + removed.length === 0, changed, added, removed },
    status: { a: a.status, b: b.status },
    usage: { a: a.usage, b: b.usage },
    cost: { a: a.cost, b: b.cost, delta: round(b.cost - a.cost) },
    durationMs: { a: durationA, b: durationB, delta: durationA !== null && durationB !== null ? durationB - durationA : null },
    steps,
  };
}

function diffStep(id: string, a: StepView | undefined, b: StepView | undefined): StepDiff {
  const prompt = textDiff(`a/${id}/prompt`, `b/${id}/prompt`, promptText(a), promptText(b));
  const output = textDiff(`a/${id}/output`, `b/${id}/output`, a?.output ?? '', b?.output ?? '');
  const structured = a?.structured !== undefined && b?.structured !== undefined ? jsonChanges(a.structured, b.structured) : undefined;
  const template = (s: StepView | undefined) => s?.template ?? null;
  const changed: StepDifference[] = [];
  if (a && b) {
    if (a.status !== b.status) changed.push('status');
    if (!prompt.equal) changed.push('prompt');
    if (!output.equal || (structured !== undefined && structured.length > 0)) changed.push('output');
    if (a.model !== b.model) changed.push('model');
    if (template(a)?.name !== template(b)?.name || template(a)?.version !== template(b)?.version) changed.push('template');
    if (a.score !== b.score) changed.push('score');
    if (a.iterationsUsed !== b.iterationsUsed) changed.push('iterations');
  }
  return {
    id,
    change: !a ? 'added' : !b ? 'removed' : changed.length ? 'changed' : 'identical',
    changed,
    status: { a: a?.status ?? null, b: b?.status ?? null },
    model: { a: a?.model ?? null, b: b?.model ?? null },
    template: { a: template(a), b: template(b) },
    score: { a: a?.score ?? null, b: b?.score ?? null },
    iterations: { a: a?.iterationsUsed ?? 0, b: b?.iterationsUsed ?? 0 },
    usage: { a: a?.usage ?? null, b: b?.usage ?? null },
    cost: { a: a?.cost ?? 0, b: b?.cost ?? 0 },
    durationMs: { a: stepDuration(a), b: stepDuration(b) },
    reused: { a: a?.reused ?? false, b: b?.reused ?? false },
    recorded: { a: a?.recorded ?? false, b: b?.recorded ?? false },
    prompt,
    output,
    ...(structured !== undefined ? { structured } : {}),
    error: { a: errorOf(a), b: errorOf(b) },
  };
}

/** What changed between two JSON values, path by path. */
export function jsonChanges(a: unknown, b: unknown): JsonChange[] {
  if (!isContainer(a) || !isContainer(b)) return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ path: [], type: 'changed', before: a, after: b }];
  return microdiff(a, b).map((d): JsonChange => {
    if (d.type === 'CREATE') return { path: d.path, type: 'added', after: d.value };
    if (d.type === 'REMOVE') return { path: d.path, type: 'removed', before: d.oldValue };
    return { path: d.path, type: 'changed', before: d.oldValue, after: d.value };
  });
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return value !== null && typeof value === 'object';
}

function promptText(step: StepView | undefined): string {
  return step?.messages ? conversationText(step.messages) : '';
}

function errorOf(step: StepView | undefined): { code: string; message: string } | null {
  return step?.error ? { code: step.error.code, message: step.error.message } : null;
}

function stepDuration(step: StepView | undefined): number | null {
  if (!step?.dispatchedAt || !step.finishedAt) return null;
  return Math.max(0, Date.parse(step.finishedAt) - Date.parse(step.dispatchedAt));
}

function runDuration(run: RunView): number | null {
  return run.finishedAt ? Math.max(0, Date.parse(run.finishedAt) - Date.parse(run.createdAt)) : null;
}

function round(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}
