import { memo, useEffect, useMemo, useRef } from 'react';
import { Background, Controls, Handle, MarkerType, Position, ReactFlow, useNodesInitialized, useReactFlow, useStore, type Edge, type Node, type NodeProps } from '@xyflow/react';
import type { StepView } from '@trellis/contracts';
import '@xyflow/react/dist/style.css';
import { NODE_HEIGHT, NODE_WIDTH, type GraphLayout } from './graph-layout';

interface StepNodeData extends Record<string, unknown> {
  step: StepView;
  selected: boolean;
}
type StepNode = Node<StepNodeData, 'step'>;

/**
 * One step: its id, its status as text and colour, its model and score. A button, so that the
 * keyboard reaches every step; selecting it opens the step's panel.
 */
const StepNodeView = memo(function StepNodeView({ data }: NodeProps<StepNode>) {
  const { step, selected } = data;
  const reason = step.status === 'skipped' || step.status === 'failed' || step.status === 'cancelled' ? step.error?.code : undefined;
  return (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <button
        type="button"
        className={`step-node node-${step.status}${selected ? ' selected' : ''}`}
        style={{ width: NODE_WIDTH, height: NODE_HEIGHT }}
        aria-label={`${step.id}: ${step.status}`}
        aria-pressed={selected}
      >
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

/**
 * The run as it ran: one node per step where dagre placed it, `depends_on` as solid edges,
 * routes (`on_false`, `on_success`, `on_failure`) dashed, coloured and labelled; an edge into a
 * step that was skipped is faded. Node objects are rebuilt only for the steps that changed, so
 * that a run of 500 steps re-renders only what its events touched.
 */
export function RunGraph({ layout, steps, selected, onSelect, onRendered }: { layout: GraphLayout; steps: StepView[]; selected: string | null; onSelect(id: string): void; onRendered?(): void }) {
  const cache = useRef(new Map<string, { step: StepView; selected: boolean; node: StepNode }>());
  const nodes = useMemo(() => {
    const next = new Map<string, { step: StepView; selected: boolean; node: StepNode }>();
    const list = steps.map((step) => {
      const isSelected = step.id === selected;
      const hit = cache.current.get(step.id);
      const node: StepNode =
        hit && hit.step === step && hit.selected === isSelected
          ? hit.node
          : { id: step.id, type: 'step', position: layout.positions.get(step.id) ?? { x: 0, y: 0 }, data: { step, selected: isSelected }, width: NODE_WIDTH, height: NODE_HEIGHT, draggable: false, connectable: false, selectable: false, focusable: false };
      next.set(step.id, { step, selected: isSelected, node });
      return node;
    });
    cache.current = next;
    return list;
  }, [steps, selected, layout, onSelect]);

  const statusOf = useMemo(() => new Map(steps.map((s) => [s.id, s.status])), [steps]);
  const edges = useMemo<Edge[]>(
    () =>
      layout.edges.map((e) => {
        const skipped = statusOf.get(e.target) === 'skipped';
        const style = EDGE_STYLE[e.kind]!;
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          focusable: false,
          selectable: false,
          ariaLabel: `${e.source} ${e.kind === 'depends_on' ? 'before' : e.kind} ${e.target}`,
          style: { ...style, strokeWidth: e.kind === 'depends_on' ? 1.2 : 1.8, opacity: skipped ? 0.35 : 1 },
          markerEnd: { type: MarkerType.ArrowClosed, color: style.stroke, width: 14, height: 14 },
          ...(e.kind !== 'depends_on' ? { label: e.kind, labelStyle: { fill: style.stroke, fontSize: 11, fontWeight: 600 }, className: `edge-${e.kind}` } : {}),
        };
      }),
    [layout, statusOf],
  );

  return (
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
  );
}

const FIT = { padding: 0.05, maxZoom: 1 };

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

/** Tells the page once React Flow has measured and drawn the nodes (the console bench times it). */
function RenderedSignal({ onRendered }: { onRendered(): void }) {
  const initialized = useNodesInitialized();
  const done = useRef(false);
  useEffect(() => {
    if (initialized && !done.current) {
      done.current = true;
      onRendered();
    }
  }, [initialized, onRendered]);
  return null;
}
