import { declarationIndex, type DependencyGraph } from './topology';

/** The cycles found, and the components where the search stopped early (too many to list). */
export interface CycleReport {
  /** Each cycle lists its steps once, starting at the earliest declared; `a` depends on the next. */
  cycles: string[][];
  /** Strongly connected components holding more cycles than were listed. */
  truncated: string[][];
}

/** Bounds the enumeration: a dense component has exponentially many elementary cycles. */
export interface CycleLimits {
  maxCyclesPerComponent: number;
  maxSteps: number;
}

const DEFAULT_LIMITS: CycleLimits = { maxCyclesPerComponent: 20, maxSteps: 100_000 };

/**
 * Tarjan's algorithm, iterative so that a long chain cannot overflow the stack. Components
 * come out in declaration order of their earliest member, members in declaration order.
 */
export function stronglyConnectedComponents(graph: DependencyGraph): string[][] {
  const order = declarationIndex(graph);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const visit = (id: string) => {
    index.set(id, counter);
    low.set(id, counter);
    counter++;
    stack.push(id);
    onStack.add(id);
  };

  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    visit(root);
    const frames: Array<{ id: string; next: number }> = [{ id: root, next: 0 }];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1] as { id: string; next: number };
      const deps = graph.get(frame.id) ?? [];
      if (frame.next < deps.length) {
        const dep = deps[frame.next++] as string;
        if (!index.has(dep)) {
          visit(dep);
          frames.push({ id: dep, next: 0 });
        } else if (onStack.has(dep)) {
          low.set(frame.id, Math.min(low.get(frame.id) ?? 0, index.get(dep) ?? 0));
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) ?? 0, low.get(frame.id) ?? 0));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string | undefined;
        do {
          member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        components.push(component.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)));
      }
    }
  }
  const first = (c: string[]) => order.get(c[0] ?? '') ?? 0;
  return components.sort((a, b) => first(a) - first(b));
}

/**
 * Every elementary cycle, found inside the strongly connected components (a self-loop is a
 * cycle of one step). Each cycle is listed once, rooted at its earliest-declared step and
 * following `depends_on` in declared order, so the report is the same on every compile.
 */
export function findCycles(graph: DependencyGraph, limits: CycleLimits = DEFAULT_LIMITS): CycleReport {
  const order = declarationIndex(graph);
  const report: CycleReport = { cycles: [], truncated: [] };
  let steps = 0;

  for (const component of stronglyConnectedComponents(graph)) {
    const [only] = component;
    if (component.length === 1) {
      if (only !== undefined && (graph.get(only) ?? []).includes(only)) report.cycles.push([only]);
      continue;
    }
    const members = new Set(component);
    let found = 0;
    let stopped = false;
    for (const start of component) {
      const startIndex = order.get(start) ?? 0;
      // A cycle is rooted at its earliest step, so from `start` only later members are walked.
      const allowed = (id: string) => members.has(id) && (order.get(id) ?? 0) >= startIndex;
      const path = [start];
      const onPath = new Set(path);
      const frames: Array<{ id: string; next: number }> = [{ id: start, next: 0 }];
      while (frames.length > 0 && !stopped) {
        const frame = frames[frames.length - 1] as { id: string; next: number };
        const deps = graph.get(frame.id) ?? [];
        if (frame.next >= deps.length) {
          frames.pop();
          onPath.delete(path.pop() as string);
          continue;
        }
        const dep = deps[frame.next++] as string;
        if (++steps > limits.maxSteps) stopped = true;
        else if (dep === start) {
          if (found >= limits.maxCyclesPerComponent) stopped = true;
          else {
            report.cycles.push([...path]);
            found++;
          }
        } else if (allowed(dep) && !onPath.has(dep)) {
          path.push(dep);
          onPath.add(dep);
          frames.push({ id: dep, next: 0 });
        }
      }
      if (stopped) break;
    }
    if (stopped) report.truncated.push(component);
  }
  return report;
}
