import type { CaseResult } from './case-result';

const fmt = (v: number | null | undefined, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const ratio = (a: number | null | undefined, b: number | null | undefined) => (a == null || b == null || b === 0 ? undefined : a / b);

/** The Trellis case's baseline twin (same name), if it was run. */
export function baselineOf(cases: readonly CaseResult[], c: CaseResult): CaseResult | undefined {
  return cases.find((b) => b.system === 'baseline' && b.name === c.name);
}

/** Trellis figures as multiples of the baseline's, per case. */
export function ratios(cases: readonly CaseResult[]): Record<string, Record<string, number | undefined>> {
  const out: Record<string, Record<string, number | undefined>> = {};
  for (const c of cases.filter((x) => x.system === 'trellis')) {
    const b = baselineOf(cases, c);
    if (!b) continue;
    out[c.name] = {
      stepsPerSecond: ratio(c.stepsPerSecond, b.stepsPerSecond),
      runLatencyP50: ratio(c.runLatencyMs.p50, b.runLatencyMs.p50),
      runLatencyP99: ratio(c.runLatencyMs.p99, b.runLatencyMs.p99),
      cpuTotalPer1000Steps: ratio(c.cpuTotalPer1000Steps, b.cpuTotalPer1000Steps),
    };
  }
  return out;
}

/** The Markdown tables printed at the end and pasted into bench/README.md. */
export function markdown(cases: readonly CaseResult[]): string {
  const lines: string[] = [];
  lines.push('| case | system | wall s | runs/s | steps/s | ×base | run p50 ms | run p99 ms | ×base p50 | hand-off p50 ms | hand-off p99 ms | CPU s/1k steps | ×base |');
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const c of cases) {
    const b = c.system === 'trellis' ? baselineOf(cases, c) : undefined;
    const x = (a: number | null | undefined, base: number | null | undefined) => (b ? `${fmt(ratio(a, base), 2)}×` : '');
    lines.push(
      `| ${c.name}${c.executors ? ` (${c.executors} exec × ${c.executorConcurrency})` : ''} | ${c.system} | ${fmt(c.wallMs / 1000, 2)} | ${fmt(c.runsPerSecond)} | ${fmt(c.stepsPerSecond, 0)} | ${x(c.stepsPerSecond, b?.stepsPerSecond)} | ${fmt(c.runLatencyMs.p50, 0)} | ${fmt(c.runLatencyMs.p99, 0)} | ${x(c.runLatencyMs.p50, b?.runLatencyMs.p50)} | ${fmt(c.handoffMs.p50, 2)} | ${fmt(c.handoffMs.p99, 2)} | ${fmt(c.cpuTotalPer1000Steps, 2)} | ${x(c.cpuTotalPer1000Steps, b?.cpuTotalPer1000Steps)} |`,
    );
  }
  const repeated = cases.filter((c) => c.repeats && c.repeats.length > 1);
  if (repeated.length) {
    lines.push('', '| measured more than once (above: medians) | system | CPU s/1k steps, each time | steps/s, each time |', '|---|---|---|---|');
    for (const c of repeated) lines.push(`| ${c.name} | ${c.system} | ${c.repeats!.map((r) => fmt(r.cpuTotalPer1000Steps, 2)).join(', ')} | ${c.repeats!.map((r) => fmt(r.stepsPerSecond, 0)).join(', ')} |`);
  }
  const scaling = cases.filter((c) => c.kind === 'scaling' && c.system === 'trellis');
  const one = scaling.find((c) => c.executors === 1);
  if (one && scaling.length > 1) {
    lines.push('', '| executors | steps/s | × one executor |', '|---:|---:|---:|');
    for (const c of scaling) lines.push(`| ${c.executors} | ${fmt(c.stepsPerSecond)} | ${fmt(ratio(c.stepsPerSecond, one.stepsPerSecond), 2)}× |`);
  }
  const trellis = cases.filter((c) => c.system === 'trellis' && c.kind === 'throughput');
  if (trellis.length) {
    const groups = [...new Set(trellis.flatMap((c) => Object.keys(c.cpuSecondsPer1000Steps)))];
    lines.push('', `| CPU s per 1,000 steps | ${groups.join(' | ')} |`, `|---|${groups.map(() => '---:').join('|')}|`);
    for (const c of trellis) lines.push(`| ${c.name} | ${groups.map((g) => fmt(c.cpuSecondsPer1000Steps[g], 3)).join(' | ')} |`);
    lines.push('', '| bytes per step | step_call (recording) | step_run | events stream |', '|---|---:|---:|---:|');
    for (const c of trellis) if (c.bytesPerStep) lines.push(`| ${c.name} | ${c.bytesPerStep.stepCall} | ${c.bytesPerStep.stepRun} | ${c.bytesPerStep.events} |`);
    const services = [...new Set(trellis.flatMap((c) => Object.keys(c.peakRssMiB)))];
    lines.push('', `| peak RSS MiB | ${services.join(' | ')} |`, `|---|${services.map(() => '---:').join('|')}|`);
    for (const c of trellis) lines.push(`| ${c.name} | ${services.map((s) => fmt(c.peakRssMiB[s], 0)).join(' | ')} |`);
  }
  const queued = cases.filter((c) => c.queue);
  if (queued.length) {
    lines.push('', '| queue case | system | limit | most running | started out of order | wait p50 ms | wait p99 ms | CPU ms per run |', '|---|---|---:|---:|---:|---:|---:|---:|');
    for (const c of queued) {
      const q = c.queue!;
      lines.push(`| ${c.name} | ${c.system} | ${q.limit} | ${q.maxRunning} | ${q.startedOutOfOrder} | ${fmt(q.waitMs.p50, 0)} | ${fmt(q.waitMs.p99, 0)} | ${fmt(c.runs ? (c.cpuTotalPer1000Steps * c.steps) / c.runs : undefined, 2)} |`);
    }
  }
  const split = cases.find((c) => c.kind === 'handoff' && c.handoffSplitMs);
  if (split?.handoffSplitMs) {
    const s = split.handoffSplitMs;
    lines.push('', `Hand-off split (${split.name}, planner clock, ms resolution): answer → dispatch p50 ${fmt(s.answerToDispatch.p50)} / p99 ${fmt(s.answerToDispatch.p99)} ms; dispatch → next request p50 ${fmt(s.dispatchToRequest.p50)} / p99 ${fmt(s.dispatchToRequest.p99)} ms.`);
  }
  return lines.join('\n');
}
