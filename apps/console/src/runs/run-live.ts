import type {
  CloudEventEnvelope,
  RunCompleted,
  RunQueued,
  RunResumed,
  RunView,
  StepCompleted,
  StepDispatched,
  StepFailed,
  StepGenerated,
  StepVerified,
  StepView,
} from '@trellis/contracts';

/**
 * A run's page follows its event stream (`GET /v1/runs/{id}/events`): each event moves a step
 * along at once, and a slower refetch of the whole run fills in the rest (tokens, products).
 * Both only move a step forward, so that a refetch answered just before an event, or the replay
 * of the stream's history, never shows a step going back (a resume is the one way back, and it
 * says so with its own event).
 */
export type RunEvent = Pick<CloudEventEnvelope, 'id' | 'type' | 'time'> & { data: unknown };

const T = 'dev.trellis.';

/** Where a step is within one attempt: later is further. */
const RANK: Record<string, number> = { pending: 0, queued: 0, dispatched: 1, verifying: 2, succeeded: 3, failed: 3, skipped: 3, cancelled: 3 };
const rank = (s: Pick<StepView, 'status' | 'attempt'>) => s.attempt * 10 + (RANK[s.status] ?? 0);

/** Applies a batch of events to the run; unchanged steps keep their identity (and their rendering). */
export function applyEvents(run: RunView, events: readonly RunEvent[], gated: (stepId: string) => boolean): RunView {
  let top: RunView = run;
  let steps: StepView[] | null = null;
  const index = new Map(run.steps.map((s, i) => [s.id, i]));
  const patch = (stepId: string, change: (step: StepView) => Partial<StepView> | null) => {
    const i = index.get(stepId);
    if (i === undefined) return;
    const current = (steps ?? run.steps)[i]!;
    const fields = change(current);
    if (!fields) return;
    steps ??= run.steps.slice();
    steps[i] = { ...current, ...fields };
  };
  /** Only forward: a step at a later attempt, or further along this one, ignores the event. */
  const forward = (stepId: string, attempt: number, status: StepView['status'], fields: Partial<StepView> = {}) =>
    patch(stepId, (s) => (rank({ status, attempt }) >= rank(s) ? { status, attempt, ...fields } : null));

  for (const e of events) {
    switch (e.type) {
      case `${T}step.dispatched`: {
        const d = e.data as StepDispatched;
        forward(d.stepId, d.attempt, 'dispatched', { model: d.model, dispatchedAt: e.time });
        break;
      }
      case `${T}step.generated`: {
        const d = e.data as StepGenerated;
        const fields = { model: d.model, output: d.output, messages: d.messages, startedAt: d.startedAt, executor: d.executor, ...(d.structured !== undefined ? { structured: d.structured } : {}) };
        // A step with gates waits on the verifier now; one without is accepted by the planner at once (step.completed follows).
        if (gated(d.stepId)) forward(d.stepId, d.attempt, 'verifying', fields);
        else patch(d.stepId, (s) => (s.attempt === d.attempt && RANK[s.status]! < 3 ? fields : null));
        break;
      }
      case `${T}step.verified`: {
        const d = e.data as StepVerified;
        patch(d.stepId, (s) => (s.attempt === d.attempt ? { score: d.score } : null));
        break;
      }
      case `${T}step.completed`: {
        const d = e.data as StepCompleted;
        forward(d.stepId, d.attempt, d.status, { finishedAt: e.time, error: d.error ?? null, ...(d.output !== undefined ? { output: d.output } : {}) });
        break;
      }
      case `${T}run.queued`: {
        const d = e.data as RunQueued;
        if (top.status === 'queued') top = { ...top, queue: { position: d.position, estimatedWaitMs: d.estimatedWaitMs } };
        break;
      }
      case `${T}run.started`: {
        if (top.status === 'queued') top = { ...top, status: 'running', queue: null, startedAt: e.time };
        break;
      }
      case `${T}run.resumed`: {
        const d = e.data as RunResumed;
        for (const id of d.steps) patch(id, () => ({ status: 'pending', error: null, finishedAt: null }));
        top = { ...top, status: 'running', error: null, finishedAt: null };
        break;
      }
      case `${T}run.completed`: {
        const d = e.data as RunCompleted;
        top = { ...top, status: d.status, usage: d.usage, error: d.error ?? null, finishedAt: e.time, ...(d.cost !== undefined ? { cost: d.cost } : {}) };
        break;
      }
      default:
        break;
    }
  }
  return steps || top !== run ? { ...top, steps: steps ?? run.steps } : run;
}

/**
 * A refetched run against the one on screen: the fresher of each step (the server's when they are
 * as far along: it has every detail), and the on-screen run's end if the server had not seen it yet.
 */
export function mergeFresher(server: RunView, shown: RunView | undefined): RunView {
  if (!shown || shown.id !== server.id) return server;
  const byId = new Map(shown.steps.map((s) => [s.id, s]));
  const steps = server.steps.map((s) => {
    const live = byId.get(s.id);
    return live && rank(live) > rank(s) ? { ...s, status: live.status, attempt: live.attempt, error: live.error, finishedAt: live.finishedAt ?? s.finishedAt } : s;
  });
  const ended = server.status === 'running' && shown.status !== 'running' && shown.finishedAt !== null;
  return { ...server, steps, ...(ended ? { status: shown.status, finishedAt: shown.finishedAt, error: shown.error } : {}) };
}

/** What only the events say of a step: each verdict's feedback and kept candidate, each failed attempt's error. */
export interface StepNotes {
  verdicts: StepVerified[];
  failures: Array<StepFailed & { time: string }>;
}

export function collectNotes(notes: Readonly<Record<string, StepNotes>>, events: readonly RunEvent[]): Record<string, StepNotes> {
  let next: Record<string, StepNotes> | null = null;
  const of = (stepId: string): StepNotes => {
    next ??= { ...notes };
    const current = next[stepId] ?? { verdicts: [], failures: [] };
    const copy = { verdicts: [...current.verdicts], failures: [...current.failures] };
    next[stepId] = copy;
    return copy;
  };
  for (const e of events) {
    if (e.type === `${T}step.verified`) {
      const d = e.data as StepVerified;
      const n = of(d.stepId);
      if (!n.verdicts.some((v) => v.attempt === d.attempt)) n.verdicts.push(d);
    } else if (e.type === `${T}step.failed`) {
      const d = e.data as StepFailed;
      const n = of(d.stepId);
      if (!n.failures.some((f) => f.attempt === d.attempt && f.error.message === d.error.message)) n.failures.push({ ...d, time: e.time });
    }
  }
  return next ?? (notes as Record<string, StepNotes>);
}
