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
  const placed = steps.map((s) => {
    const n = g.node(s.id);
    return { id: s.id, x: n.x - NODE_WIDTH / 2, y: n.y - NODE_HEIGHT / 2 };
  });
  return wrapWideRanks(placed, edges);
}

/** A rank (a column of the layout) taller than this many steps is folded into several columns. */
export const MAX_RANK_ROWS = 25;
const COLUMN_GAP = 24;
const ROW_GAP = 14;

/**
 * A fan-out of hundreds of steps puts them all in one rank: a column tens of thousands of pixels
 * tall that no zoom makes readable. When a rank has more than MAX_RANK_ROWS steps, every rank is
 * stacked again around one centre line, in dagre's order (which keeps crossings down): the wide
 * ones folded into columns of MAX_RANK_ROWS, the ranks after them moved right to make room.
 * Graphs without such a rank keep dagre's layout as it is.
 */
function wrapWideRanks(placed: Array<{ id: string; x: number; y: number }>, edges: GraphEdge[]): GraphLayout {
  const ranks = new Map<number, typeof placed>();
  for (const p of placed) {
    const key = Math.round(p.x);
    ranks.set(key, [...(ranks.get(key) ?? []), p]);
  }
  const positions = new Map<string, { x: number; y: number }>();
  const wide = [...ranks.values()].some((r) => r.length > MAX_RANK_ROWS);
  let shift = 0;
  for (const [x, members] of [...ranks].sort((a, b) => a[0] - b[0])) {
    if (!wide) {
      for (const m of members) positions.set(m.id, { x: m.x, y: m.y });
      continue;
    }
    const sorted = [...members].sort((a, b) => a.y - b.y);
    const rows = Math.min(sorted.length, MAX_RANK_ROWS);
    const top = -(rows * (NODE_HEIGHT + ROW_GAP) - ROW_GAP) / 2;
    sorted.forEach((m, i) => positions.set(m.id, { x: x + shift + Math.floor(i / MAX_RANK_ROWS) * (NODE_WIDTH + COLUMN_GAP), y: top + (i % MAX_RANK_ROWS) * (NODE_HEIGHT + ROW_GAP) }));
    shift += (Math.ceil(sorted.length / MAX_RANK_ROWS) - 1) * (NODE_WIDTH + COLUMN_GAP);
  }
  const xs = [...positions.values()].map((p) => p.x);
  const ys = [...positions.values()].map((p) => p.y);
  return { positions, edges, width: Math.max(...xs) - Math.min(...xs) + NODE_WIDTH, height: Math.max(...ys) - Math.min(...ys) + NODE_HEIGHT };
}
