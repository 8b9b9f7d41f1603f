/** A step held for a dispatch slot. */
export interface HeldStep {
  runId: string;
  stepId: string;
  project: string;
  /** The run's priority, 1–5: higher leaves first within its project. */
  priority: number;
  /** Arrival order: first come, first served within a priority. */
  seq: number;
}

interface ProjectLine {
  /** Highest priority first, then arrival. */
  steps: HeldStep[];
  /** Deficit round robin: dispatches owed to the project. */
  deficit: number;
}

/**
 * The steps of one pool held for dispatch, in weighted-fair order across projects (deficit
 * round robin: each turn a project is owed its weight in dispatches) and by priority, then
 * arrival, within a project. A project with 5 steps waiting is not stuck behind another's
 * 5,000: each turn serves both. Pure data structure, no I/O.
 */
export class FairQueue {
  private readonly lines = new Map<string, ProjectLine>();
  /** Projects with steps waiting, in turn order. */
  private turn: string[] = [];
  private next = 0;
  private count = 0;
  private readonly present = new Set<string>();

  get size(): number {
    return this.count;
  }

  /** Adds a step (once: a step already waiting is not added again). */
  add(step: HeldStep): void {
    const key = `${step.runId}/${step.stepId}`;
    if (this.present.has(key)) return;
    this.present.add(key);
    let line = this.lines.get(step.project);
    if (!line) {
      line = { steps: [], deficit: 0 };
      this.lines.set(step.project, line);
      this.turn.push(step.project);
    }
    // Binary insertion: priority descending, then arrival ascending.
    let lo = 0;
    let hi = line.steps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = line.steps[mid]!;
      if (m.priority > step.priority || (m.priority === step.priority && m.seq < step.seq)) lo = mid + 1;
      else hi = mid;
    }
    line.steps.splice(lo, 0, step);
    this.count++;
  }

  /** Takes up to `n` steps in fair order; `weight` gives each project's share (≥ 1). */
  take(n: number, weight: (project: string) => number): HeldStep[] {
    const out: HeldStep[] = [];
    while (out.length < n && this.count > 0) {
      if (this.next >= this.turn.length) this.next = 0;
      const project = this.turn[this.next]!;
      const line = this.lines.get(project)!;
      line.deficit += Math.max(1, weight(project));
      while (line.deficit >= 1 && line.steps.length && out.length < n) {
        const step = line.steps.shift()!;
        this.present.delete(`${step.runId}/${step.stepId}`);
        this.count--;
        out.push(step);
        line.deficit -= 1;
      }
      if (!line.steps.length) {
        // An emptied line loses what it was owed: a project is not paid for having been idle.
        this.lines.delete(project);
        this.turn.splice(this.next, 1);
      } else if (line.deficit < 1 || out.length >= n) {
        this.next++;
      }
    }
    return out;
  }
}
