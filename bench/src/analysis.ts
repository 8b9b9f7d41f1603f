import type { SimulatedRequest } from '@trellis/llm';
import { parsePromptTag, type Workload } from './workloads';

/** The p-th percentile (nearest rank) of `values`; undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!values.length) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

export interface Distribution {
  p50: number | null;
  p99: number | null;
  count: number;
}

export function distribution(values: readonly number[], digits = 2): Distribution {
  const f = 10 ** digits;
  const r = (v: number | undefined) => (v === undefined ? null : Math.round(v * f) / f);
  return { p50: r(percentile(values, 50)), p99: r(percentile(values, 99)), count: values.length };
}

/** What the simulator saw of one case's runs. */
export interface SimulatorView {
  /** `<tag>/<stepId>` → its requests (exactly one each, when nothing is wrong). */
  byStep: Map<string, SimulatedRequest[]>;
  /** Problems: a step asked twice or never, a request of no expected run, a failed answer. */
  problems: string[];
  /** From the last answer of a step's dependencies to the step's request, in ms. */
  handoffsMs: number[];
}

/**
 * Checks that the simulator was asked for every step of every run exactly once and answered
 * it, and measures each hand-off on the simulator's clock: from the answer to the last
 * dependency of a step to the arrival of the step's own request.
 */
export function readSimulator(requests: readonly SimulatedRequest[], workload: Workload, tags: readonly string[]): SimulatorView {
  const expected = new Set(tags);
  const byStep = new Map<string, SimulatedRequest[]>();
  const problems: string[] = [];
  for (const request of requests) {
    const user = request.messages.find((m) => m.role === 'user');
    const parsed = user ? parsePromptTag(user.content) : undefined;
    if (!parsed || !expected.has(parsed.tag)) {
      problems.push(`a request of no run of this case: ${user?.content.slice(0, 60) ?? '(no user message)'}`);
      continue;
    }
    const key = `${parsed.tag}/${parsed.stepId}`;
    byStep.set(key, [...(byStep.get(key) ?? []), request]);
  }
  const handoffsMs: number[] = [];
  for (const tag of tags) {
    for (const stepId of workload.steps) {
      const seen = byStep.get(`${tag}/${stepId}`) ?? [];
      if (seen.length !== 1) problems.push(`${tag}/${stepId}: the model was asked ${seen.length} times`);
      const request = seen[0];
      if (!request) continue;
      if (request.status !== 200) problems.push(`${tag}/${stepId}: answered ${request.status}`);
      const deps = workload.dependsOn[stepId]!.map((d) => byStep.get(`${tag}/${d}`)?.[0]?.respondedAt);
      if (deps.length && deps.every((t): t is number => typeof t === 'number')) handoffsMs.push(request.receivedAt - Math.max(...deps));
    }
  }
  return { byStep, problems, handoffsMs };
}
