/**
 * Step id → the ids it depends on. Iteration order is declaration order, which breaks
 * every tie below so that the same spec always yields the same order and batches.
 * Every dependency must be a key of the graph (unknown ids are dropped before this).
 */
export type DependencyGraph = ReadonlyMap<string, readonly string[]>;

/** For each step, the steps that depend on it, in declaration order. */
export function dependentsOf(graph: DependencyGraph): Map<string, string[]> {
  const dependents = new Map<string, string[]>();
  for (const id of graph.keys()) dependents.set(id, []);
  for (const [id, deps] of graph) {
    for (const dep of deps) dependents.get(dep)?.push(id);
  }
  return dependents;
}

/**
 * Kahn's algorithm, always taking the earliest-declared ready step. Returns undefined when
 * the graph has a cycle (see `findCycles` for which).
 */
export function topologicalOrder(graph: DependencyGraph): string[] | undefined {
  const index = declarationIndex(graph);
  const dependents = dependentsOf(graph);
  const waiting = new Map<string, number>();
  const ready: number[] = [];
  for (const [id, deps] of graph) {
    waiting.set(id, deps.length);
    if (deps.length === 0) ready.push(index.get(id) ?? 0);
  }
  const ids = [...graph.keys()];
  const order: string[] = [];
  while (ready.length > 0) {
    const id = ids[ready.shift() ?? 0] ?? '';
    order.push(id);
    for (const dependent of dependents.get(id) ?? []) {
      const left = (waiting.get(dependent) ?? 0) - 1;
      waiting.set(dependent, left);
      if (left === 0) insertSorted(ready, index.get(dependent) ?? 0);
    }
  }
  return order.length === graph.size ? order : undefined;
}

/**
 * Parallel levels: batch k holds the steps whose longest dependency chain has k edges, so
 * every step's dependencies sit in earlier batches. Inside a batch, declaration order.
 * `order` must be a topological order of `graph`.
 */
export function batchesOf(graph: DependencyGraph, order: readonly string[]): string[][] {
  const level = new Map<string, number>();
  for (const id of order) {
    const deps = graph.get(id) ?? [];
    level.set(id, deps.reduce((max, dep) => Math.max(max, (level.get(dep) ?? 0) + 1), 0));
  }
  const batches: string[][] = [];
  for (const id of graph.keys()) {
    const k = level.get(id) ?? 0;
    while (batches.length <= k) batches.push([]);
    batches[k]?.push(id);
  }
  return batches;
}

/** Every step reachable by following `depends_on` from `id` (not including `id` unless on a cycle). */
export function upstreamOf(graph: DependencyGraph, id: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(id) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

export function declarationIndex(graph: DependencyGraph): Map<string, number> {
  return new Map([...graph.keys()].map((id, i) => [id, i]));
}

function insertSorted(sorted: number[], value: number): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] ?? 0) < value) low = mid + 1;
    else high = mid;
  }
  sorted.splice(low, 0, value);
}
