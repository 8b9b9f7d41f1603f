import type { CloudEventEnvelope, RunView } from '@trellis/contracts';

export interface StepLine {
  id: string;
  status: string;
  model: string;
  attempt: number;
  inputTokens: number;
  outputTokens: number;
  score: number | null;
  note: string;
}

/** Step statuses after which only a later attempt changes the line. */
const FINAL = new Set(['succeeded', 'failed', 'skipped', 'cancelled']);

/** What the live view shows of a run, folded from the run as fetched and then its events. */
export class RunProgress {
  readonly steps = new Map<string, StepLine>();
  status = 'running';
  error: string | undefined;
  /** A queued run's place and estimated wait, as the planner last said. */
  queue: string | undefined;

  constructor(run: RunView) {
    for (const s of run.steps) {
      this.steps.set(s.id, {
        id: s.id,
        status: s.status,
        model: s.model,
        attempt: s.attempt,
        inputTokens: s.usage.inputTokens,
        outputTokens: s.usage.outputTokens,
        score: s.score,
        note: '',
      });
    }
    this.status = run.status;
  }

  /** Applies one event; answers the step it changed (or `run`), for the plain renderer. */
  apply(e: CloudEventEnvelope): string | undefined {
    const d = (e.data ?? {}) as Record<string, any>;
    const type = e.type.replace('dev.trellis.', '');
    if (type === 'run.completed') {
      this.status = d.status;
      this.error = d.error?.message;
      return 'run';
    }
    if (type === 'run.queued') {
      this.status = 'queued';
      this.queue = `position ${d.position}${typeof d.estimatedWaitMs === 'number' ? `, about ${Math.max(1, Math.round(d.estimatedWaitMs / 1000))} s` : ''}`;
      return 'run';
    }
    if (type === 'run.started') {
      // Worth saying only when the run had waited.
      const waited = this.status === 'queued';
      this.status = 'running';
      this.queue = undefined;
      return waited ? 'run' : undefined;
    }
    const step = typeof d.stepId === 'string' ? this.steps.get(d.stepId) : undefined;
    if (!step) return undefined;
    // Events of one run may arrive out of order (two planner replicas publish what each
    // committed): one about an attempt the step is past, or about this attempt once it is
    // done, changes nothing.
    const attempt = typeof d.attempt === 'number' ? d.attempt : step.attempt;
    if (attempt < step.attempt || (attempt === step.attempt && type !== 'step.completed' && FINAL.has(step.status))) return undefined;
    switch (type) {
      case 'step.dispatched':
        Object.assign(step, { status: 'running', model: d.model ?? step.model, attempt: d.attempt ?? step.attempt, note: '' });
        break;
      case 'step.progress':
        Object.assign(step, { status: 'running', outputTokens: d.outputTokens ?? step.outputTokens });
        return undefined; // too chatty for plain lines
      case 'step.generated':
        Object.assign(step, { status: 'generated', model: d.model ?? step.model, inputTokens: d.usage?.inputTokens ?? 0, outputTokens: d.usage?.outputTokens ?? 0 });
        break;
      case 'step.verified':
        Object.assign(step, { status: d.verdict === 'accept' ? 'verified' : `verdict ${d.verdict}`, score: d.score ?? null, note: d.feedback ? String(d.feedback).slice(0, 60) : '' });
        break;
      case 'step.failed':
        Object.assign(step, { status: 'error', note: d.error?.message ? noteOf(d.error.message) : '' });
        break;
      case 'step.completed':
        Object.assign(step, { status: d.status, attempt: d.attempt ?? step.attempt, note: d.error?.message ? noteOf(d.error.message) : d.reused ? 'carried over' : step.note });
        break;
      default:
        return undefined;
    }
    return step.id;
  }

  /** Takes the run's final state; answers the steps whose status it changed. */
  reconcile(run: RunView): string[] {
    const changed: string[] = [];
    for (const s of run.steps) {
      const line = this.steps.get(s.id);
      if (!line) continue;
      if (line.status !== s.status) changed.push(s.id);
      Object.assign(line, { status: s.status, model: s.model, attempt: s.attempt, inputTokens: s.usage.inputTokens, outputTokens: s.usage.outputTokens, score: s.score });
    }
    this.status = run.status;
    return changed;
  }

  get totals(): { inputTokens: number; outputTokens: number } {
    let inputTokens = 0;
    let outputTokens = 0;
    for (const s of this.steps.values()) {
      inputTokens += s.inputTokens;
      outputTokens += s.outputTokens;
    }
    return { inputTokens, outputTokens };
  }
}

/** A message as a one-line note: its first line, cut to 60 characters (a replay miss carries a whole diff). */
function noteOf(message: unknown): string {
  return String(message).split('\n', 1)[0]!.slice(0, 60);
}
