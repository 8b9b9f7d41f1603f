import { createContext, memo, useContext, useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, useNodesInitialized, useReactFlow, useStore, type Edge, type Node, type NodeProps } from '@xyflow/react';
import type { StepView } from '@trellis/contracts';
import '@xyflow/react/dist/style.css';
import { NODE_HEIGHT, NODE_WIDTH, type GraphLayout } from './graph-layout';

/**
 * The steps as the nodes read them. React Flow's nodes never change after the layout (only their
 * positions matter to it): a status an event moves re-renders that one node through this store,
 * instead of handing React Flow a new node array, whose store updates would reach all 500 nodes.
 */
class StepStore {
  private steps = new Map<string, StepView>();
  private selected: string | null = null;
  private readonly listeners = new Map<string, Set<() => void>>();

  update(steps: readonly StepView[], selected: string | null): void {
    const changed = new Set<string>();
    for (const s of steps) {
      if (this.steps.get(s.id) !== s) changed.add(s.id);
      this.steps.set(s.id, s);
    }
    if (selected !== this.selected) {
      if (this.selected) changed.add(this.selected);
      if (selected) changed.add(selected);
      this.selected = selected;
    }
    for (const id of changed) for (const listener of this.listeners.get(id) ?? []) listener();
  }

  subscribe(id: string, listener: () => void): () => void {
    const set = this.listeners.get(id) ?? new Set();
    set.add(listener);
    this.listeners.set(id, set);
    return () => set.delete(listener);
  }

  step(id: string): StepView | undefined {
    return this.steps.get(id);
  }

  isSelected(id: string): boolean {
    return this.selected === id;
  }
}

const StoreContext = createContext<StepStore | null>(null);

function useStep(id: string): { step: StepView | undefined; selected: boolean } {
  const store = useContext(StoreContext)!;
  const subscribe = useMemo(() => (listener: () => void) => store.subscribe(id, listener), [store, id]);
  const step = useSyncExternalStore(subscribe, () => store.step(id));
  const selected = useSyncExternalStore(subscribe, () => store.isSelected(id));
  return { step, selected };
}

type StepNode = Node<Record<string, never>, 'step'>;

/**
 * One step: its id, its status as text and colour, its model, score or reason. A button, so that
 * the keyboard reaches every step; selecting it opens the step's panel.
 */
const StepNodeView = memo(function StepNodeView({ id }: NodeProps<StepNode>) {
  const { step, selected } = useStep(id);
  if (!step) return null;
  const reason = step.status === 'skipped' || step.status === 'failed' || step.status === 'cancelled' ? step.error?.code : undefined;
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <button type="button" className={`step-node node-${step.status}${selected ? ' selected' : ''}`} style={{ width: NODE_WIDTH, height: NODE_HEIGHT }} aria-label={`${step.id}: ${step.status}`} aria-pressed={selected}>
        <span className="step-id">{step.id}</span>
        <span className="step-line">
          <span className={`status status-${step.status}`}>{step.status}</span>
          <span className="step-meta">{reason ?? (step.score !== null ? `score ${step.score.toFixed(2)}` : step.model)}</span>
        </span>
      </button>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
});

const NODE_TYPES = { step: StepNodeView };

const EDGE_STYLE: Record<string, { stroke: string; strokeDasharray?: string }> = {
  depends_on: { stroke: '#8a93a5' },
  on_false: { stroke: '#a15c00', strokeDasharray: '6 4' },
  on_success: { stroke: '#0b7a3e', strokeDasharray: '6 4' },
  on_failure: { stroke: '#b3261e', strokeDasharray: '6 4' },
};

const FIT = { padding: 0.05, maxZoom: 1 };

/**
 * The run as it ran: one node per step where the layout placed it, `depends_on` as solid edges,
 * routes (`on_false`, `on_success`, `on_failure`) dashed, coloured and labelled; an edge into a
 * step that was skipped is faded.
 */
export const RunGraph = memo(function RunGraph({ layout, steps, selected, onSelect, onRendered }: { layout: GraphLayout; steps: StepView[]; selected: string | null; onSelect(id: string): void; onRendered?(): void }) {
  const [store] = useState(() => new StepStore());
  const first = useRef(true);
  if (first.current) {
    // The first render reads the steps at once; later changes are pushed from an effect.
    store.update(steps, selected);
    first.current = false;
  }
  useLayoutEffect(() => store.update(steps, selected), [store, steps, selected]);

  const nodes = useMemo<StepNode[]>(
    () =>
      [...layout.positions].map(([id, position]) => ({ id, type: 'step', position, data: {}, width: NODE_WIDTH, height: NODE_HEIGHT, draggable: false, connectable: false, selectable: false, focusable: false })),
    [layout],
  );

  // Edges change only when a step becomes (or stops being) skipped.
  const skipped = steps.filter((s) => s.status === 'skipped').map((s) => s.id).join('\n');
  const edges = useMemo<Edge[]>(() => {
    const faded = new Set(skipped.split('\n'));
    return layout.edges.map((e) => {
      const style = EDGE_STYLE[e.kind]!;
      return {
        id: e.id,
        source: e.source,
        target: e.target,
        focusable: false,
        selectable: false,
        ariaLabel: `${e.source} ${e.kind === 'depends_on' ? 'before' : e.kind} ${e.target}`,
        style: { ...style, strokeWidth: e.kind === 'depends_on' ? 1.2 : 1.8, opacity: faded.has(e.target) ? 0.35 : 1 },
        markerEnd: { type: MarkerType.ArrowClosed, color: style.stroke, width: 14, height: 14 },
        ...(e.kind !== 'depends_on' ? { label: e.kind, labelStyle: { fill: style.stroke, fontSize: 11, fontWeight: 600 }, className: `edge-${e.kind}` } : {}),
      };
    });
  }, [layout, skipped]);

  return (
    <StoreContext.Provider value={store}>
      <div className="run-graph" role="region" aria-label="Graph of the run">
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={NODE_TYPES}
          fitView
          fitViewOptions={FIT}
          minZoom={0.05}
          maxZoom={2}
          nodesDraggable={false}
          nodesConnectable={false}
          nodesFocusable={false}
          edgesFocusable={false}
          elementsSelectable={false}
          // A click on the node's button (or Enter on it) reaches the node: it opens the step.
          onNodeClick={(_, node) => onSelect(node.id)}
          onlyRenderVisibleElements
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={24} size={1} />
          <Controls showInteractive={false} />
          <FitOnResize />
          {onRendered && <RenderedSignal onRendered={onRendered} />}
        </ReactFlow>
      </div>
    </StoreContext.Provider>
  );
});

/** The whole graph in view again when its box changes size (the step panel opens or closes, the window resizes). */
function FitOnResize() {
  const { fitView } = useReactFlow();
  const width = useStore((s) => s.width);
  const height = useStore((s) => s.height);
  useEffect(() => {
    if (width && height) void fitView(FIT);
  }, [width, height, fitView]);
  return null;
}

/**
 * Tells the page once React Flow has drawn and measured every node (the console bench times it).
 * `includeHiddenNodes` makes the hook read React Flow's own measurements: the default reads them
 * from the node objects, which a flow without `onNodesChange` (this one: nothing moves) never gets.
 */
function RenderedSignal({ onRendered }: { onRendered(): void }) {
  const initialized = useNodesInitialized({ includeHiddenNodes: true });
  const done = useRef(false);
  useEffect(() => {
    if (initialized && !done.current) {
      done.current = true;
      onRendered();
    }
  }, [initialized, onRendered]);
  return null;
}
