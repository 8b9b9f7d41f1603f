import { createContext, memo, useContext, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, useNodesInitialized, useReactFlow, useStore, type Edge, type Node, type NodeProps } from '@xyflow/react';
import type { StepView } from '@trellis/contracts';
import '@xyflow/react/dist/style.css';
import { NODE_HEIGHT, NODE_WIDTH, type GraphLayout } from './graph-layout';
import type { StepStore } from './step-store';

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
 * step that was skipped is faded. The nodes read their steps from `store`: an event re-renders
 * the nodes it changed, never this component (nor React Flow with its 500 node wrappers).
 */
export const RunGraph = memo(function RunGraph({ layout, store, skipped, onSelect, onRendered }: { layout: GraphLayout; store: StepStore; skipped: ReadonlySet<string>; onSelect(id: string): void; onRendered?(): void }) {
  const nodes = useMemo<StepNode[]>(
    () =>
      [...layout.positions].map(([id, position]) => ({ id, type: 'step', position, data: {}, width: NODE_WIDTH, height: NODE_HEIGHT, draggable: false, connectable: false, selectable: false, focusable: false })),
    [layout],
  );

  // Edges change only when a step becomes (or stops being) skipped.
  const edges = useMemo<Edge[]>(() => {
    return layout.edges.map((e) => {
      const style = EDGE_STYLE[e.kind]!;
      return {
        id: e.id,
        source: e.source,
        target: e.target,
        focusable: false,
        selectable: false,
        ariaLabel: `${e.source} ${e.kind === 'depends_on' ? 'before' : e.kind} ${e.target}`,
        style: { ...style, strokeWidth: e.kind === 'depends_on' ? 1.2 : 1.8, opacity: skipped.has(e.target) ? 0.35 : 1 },
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
