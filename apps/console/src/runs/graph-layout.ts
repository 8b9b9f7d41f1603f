import { graphlib, layout } from '@dagrejs/dagre';

/** How a step was reached: by a dependency, or by a route of another step's outcome. */
export type EdgeKind = 'depends_on' | 'on_false' | 'on_success' | 'on_failure';

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  kind: EdgeKind;
}

export interface GraphLayout {
  /** Top-left corner of each step's box. */
  positions: Map<string, { x: number; y: number }>;
  edges: GraphEdge[];
  width: number;
  height: number;
}

export const NODE_WIDTH = 190;
export const NODE_HEIGHT = 58;

/**
 * Places the steps of a run left to right in dependency order (dagre's layered layout): a
 * step's dependencies and the steps that route to it are to its left. Routes
 * (`on_false`, `on_success`, `on_failure`, from the compiled plan) are edges of their own kind.
 */
export function layoutGraph(
  steps: ReadonlyArray<{ id: string; dependsOn: readonly string[] }>,
  routes: ReadonlyArray<{ from: string; to: string; when: 'false' | 'success' | 'failure' }>,
): GraphLayout {
  const ids = new Set(steps.map((s) => s.id));
  const edges: GraphEdge[] = [
    ...steps.flatMap((s) => s.dependsOn.filter((d) => ids.has(d)).map((d) => ({ id: `${d}->${s.id}`, source: d, target: s.id, kind: 'depends_on' as const }))),
    ...routes.filter((r) => ids.has(r.from) && ids.has(r.to)).map((r) => ({ id: `${r.from}-${r.when}->${r.to}`, source: r.from, target: r.to, kind: `on_${r.when}` as EdgeKind })),
  ];
  const g = new graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 70, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  // dagre stacks siblings in reverse insertion order: inserted backwards, the pipeline's first step is on top.
  for (const s of [...steps].reverse()) g.setNode(s.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of [...edges].reverse()) g.setEdge(e.source, e.target, {}, e.id);
  layout(g);
  const positions = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const n = g.node(s.id);
    positions.set(s.id, { x: n.x - NODE_WIDTH / 2, y: n.y - NODE_HEIGHT / 2 });
  }
  const graph = g.graph();
  return { positions, edges, width: graph.width ?? 0, height: graph.height ?? 0 };
}
