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
  /** Anything lost, duplicated or failed; the bench fails when any case has one. */
  problems: string[];
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
