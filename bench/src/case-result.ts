import type { Distribution } from './analysis';

/** The figures of one case, as written to the results file. */
export interface CaseResult {
  /** e.g. `W1 ×200 @0ms`; a Trellis case and its baseline share it. */
  name: string;
  kind: 'throughput' | 'latency' | 'handoff' | 'scaling' | 'queue';
  system: 'trellis' | 'baseline';
  workload: 'W1' | 'W2' | 'W3';
  runs: number;
  modelLatencyMs: number;
  executors?: number;
  executorConcurrency?: number;
  steps: number;
  wallMs: number;
  runsPerSecond: number;
  stepsPerSecond: number;
  runLatencyMs: Distribution;
  /** From a step's last dependency's model answer to the step's model request (simulator clock). */
  handoffMs: Distribution;
  /** Trellis only: the hand-off split at the step's `dispatched_at` (planner clock, ms resolution). */
  handoffSplitMs?: { answerToDispatch: Distribution; dispatchToRequest: Distribution };
  /** CPU seconds per 1,000 steps, by process (group). */
  cpuSecondsPer1000Steps: Record<string, number>;
  /** Trellis: services + PostgreSQL + NATS + simulator. Baseline: its process + simulator. */
  cpuTotalPer1000Steps: number;
  /**
   * Trellis: bytes stored per step, by what holds them: the recording (`step_call` rows), the
   * step's own row (`step_run`), and the events stream (JetStream bytes added during the case).
   */
  bytesPerStep?: { stepCall: number; stepRun: number; events: number };
  /** Peak RSS during the case, MiB, by service process. */
  peakRssMiB: Record<string, number>;
  /** The queue case: runs submitted at once to a project with a limit of running runs. */
  queue?: QueueFigures;
  /**
   * A case measured more than once (`--repeat`): every measurement's figures, in the order
   * they ran. The case's own figures are then medians (see {@link medianCase}).
   */
  repeats?: Array<Pick<CaseResult, 'stepsPerSecond' | 'cpuTotalPer1000Steps' | 'cpuSecondsPer1000Steps'>>;
  /** Anything lost, duplicated or failed; the bench fails when any case has one. */
  problems: string[];
}

/**
 * One case from several measurements of it: wall time, runs/s, steps/s and CPU per step are the
 * medians of the measurements; what only makes sense together (CPU by process, latencies,
 * bytes, memory) is the measurement's whose CPU per step is the median (the lower of the two
 * middle ones for an even count). Every problem of every measurement is kept.
 */
export function medianCase(measured: readonly CaseResult[]): CaseResult {
  if (measured.length === 0) throw new Error('medianCase needs at least one measurement');
  if (measured.length === 1) return measured[0]!;
  const byCpu = [...measured].sort((a, b) => a.cpuTotalPer1000Steps - b.cpuTotalPer1000Steps);
  const middle = byCpu[(byCpu.length - 1) >> 1]!;
  const median = (pick: (c: CaseResult) => number) => {
    const sorted = measured.map(pick).sort((a, b) => a - b);
    const half = sorted.length >> 1;
    return sorted.length % 2 ? sorted[half]! : (sorted[half - 1]! + sorted[half]!) / 2;
  };
  return {
    ...middle,
    wallMs: median((c) => c.wallMs),
    runsPerSecond: median((c) => c.runsPerSecond),
    stepsPerSecond: median((c) => c.stepsPerSecond),
    cpuTotalPer1000Steps: median((c) => c.cpuTotalPer1000Steps),
    repeats: measured.map((c) => ({ stepsPerSecond: c.stepsPerSecond, cpuTotalPer1000Steps: c.cpuTotalPer1000Steps, cpuSecondsPer1000Steps: c.cpuSecondsPer1000Steps })),
    problems: measured.flatMap((c) => c.problems),
  };
}

/** How the queue served its runs. */
export interface QueueFigures {
  /** The project's limit of running runs (the baseline: its semaphore). */
  limit: number;
  /** The most runs running at one moment, from each run's start and end (Trellis: as recorded). */
  maxRunning: number;
  /** Runs that started before a run queued ahead of them (same priority): 0 when the order is kept. */
  startedOutOfOrder: number;
  /** From submission to start, ms. */
  waitMs: Distribution;
}
