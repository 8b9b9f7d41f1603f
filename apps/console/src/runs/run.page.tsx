import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { PipelineView, RunView } from '@trellis/contracts';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { useApi } from '../auth/session';
import { JsonText } from '../ui/content';
import { elapsed, formatCost, formatDuration, formatTime, formatTokens } from '../ui/format';
import { ErrorMessage, QueryState } from '../ui/query-state';
import { StatusBadge } from '../ui/status';
import { layoutGraph } from './graph-layout';
import { RunGraph } from './run-graph';
import { applyEvents, collectNotes, mergeFresher, type RunEvent, type StepNotes } from './run-live';
import { RunTimeline } from './run-timeline';
import { StepPanel } from './step-panel';
import { StepStore } from './step-store';
import { useRunEvents } from './use-run-events';
import { ProductsList } from './products-list';
import { ReplayForm } from './replay-form';

/**
 * While events stream, the whole run is refetched at most this often (tokens, costs, rounds,
 * products): every 2 s for a small run, less often for a large one, whose every answer is large.
 */
const refetchInterval = (steps: number) => Math.min(10_000, Math.max(2_000, steps * 20));

type SpecSteps = Record<string, { verify?: unknown; template?: string }>;

/** A run's page; another run's is a new one (its notes and stream start afresh). */
export default function RunPage() {
  const { id = '' } = useParams();
  return <RunOf key={id} id={id} />;
}

function RunOf({ id }: { id: string }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [params, setParams] = useSearchParams();
  const selected = params.get('step');
  const key = useMemo(() => ['run', id], [id]);

  const run = useQuery({
    queryKey: key,
    queryFn: async ({ signal }) => mergeFresher(await api.get<RunView>(`/v1/runs/${encodeURIComponent(id)}`, { signal }), queryClient.getQueryData<RunView>(key)),
    refetchOnWindowFocus: false,
    staleTime: Infinity,
  });
  const versioned = run.data && run.data.pipelineVersion > 0 ? run.data : null;
  const pipeline = useQuery({
    queryKey: ['pipeline', versioned?.pipeline, versioned?.pipelineVersion],
    enabled: versioned !== null,
    staleTime: Infinity,
    queryFn: ({ signal }) => api.get<PipelineView>(`/v1/pipelines/${encodeURIComponent(versioned!.pipeline)}/versions/${versioned!.pipelineVersion}`, { signal }),
  });
  const specSteps = (pipeline.data?.spec as { steps?: SpecSteps } | undefined)?.steps;

  // Live: events move steps at once; a throttled refetch brings the details.
  const [notes, setNotes] = useState<Record<string, StepNotes>>({});
  const [reconnect, setReconnect] = useState(0);
  const refetchTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const gated = useCallback((stepId: string) => specSteps?.[stepId]?.verify !== undefined, [specSteps]);
  const onEvents = useCallback(
    (events: RunEvent[]) => {
      queryClient.setQueryData<RunView>(key, (current) => (current ? applyEvents(current, events, gated) : current));
      setNotes((n) => collectNotes(n, events));
      const refetch = () => {
        if (refetchTimer.current) clearTimeout(refetchTimer.current);
        refetchTimer.current = null;
        void queryClient.invalidateQueries({ queryKey: key });
      };
      if (events.some((e) => e.type === 'dev.trellis.run.completed')) refetch();
      else refetchTimer.current ??= setTimeout(refetch, refetchInterval(queryClient.getQueryData<RunView>(key)?.steps.length ?? 0));
    },
    [queryClient, key, gated],
  );
  useEffect(() => () => void (refetchTimer.current && clearTimeout(refetchTimer.current)), []);
  const ready = run.data !== undefined && (versioned === null || !pipeline.isPending);
  const stream = useRunEvents(api, ready ? id : null, reconnect, onEvents);

  const select = useCallback(
    (stepId: string | null) =>
      setParams(
        (p) => {
          const next = new URLSearchParams(p);
          if (stepId) next.set('step', stepId);
          else next.delete('step');
          return next;
        },
        { replace: true },
      ),
    [setParams],
  );

  return (
    <QueryState query={run} what="run">
      {(r) => (
        <RunBody
          run={r}
          pipeline={pipeline.data}
          planPending={versioned !== null && pipeline.isPending}
          specSteps={specSteps}
          notes={notes}
          stream={stream}
          selected={selected}
          onSelect={select}
          onClose={() => select(null)}
          onResumed={(resumed) => {
            queryClient.setQueryData(key, resumed);
            setReconnect((n) => n + 1);
          }}
          onCancelled={(cancelled) => queryClient.setQueryData(key, (current: RunView | undefined) => mergeFresher(cancelled, current))}
        />
      )}
    </QueryState>
  );
}

function RunBody(props: {
  run: RunView;
  pipeline: PipelineView | undefined;
  planPending: boolean;
  specSteps: SpecSteps | undefined;
  notes: Record<string, StepNotes>;
  stream: string;
  selected: string | null;
  onSelect(id: string): void;
  onClose(): void;
  onResumed(run: RunView): void;
  onCancelled(run: RunView): void;
}) {
  const { run, pipeline, specSteps, notes, selected, onSelect } = props;
  const api = useApi();
  const plan = pipeline?.plan;
  const planById = useMemo(() => new Map((plan?.steps ?? []).map((s) => [s.id, s])), [plan]);

  // The layout depends on the graph's shape only, never on statuses: computed once per run.
  const shape = run.steps.map((s) => `${s.id}<${s.dependsOn.join(',')}`).join(';');
  const layout = useMemo(() => {
    if (props.planPending) return null;
    const routes = (plan?.steps ?? []).flatMap((s) => s.routedFrom.map((r) => ({ from: r.from, to: s.id, when: r.when })));
    return layoutGraph(run.steps, routes);
  }, [shape, plan, props.planPending]);

  // The graph's nodes read their steps from this store, filled before the first render and updated
  // as the run changes, so that the graph itself renders only when its shape or its skipped steps do.
  const [store] = useState(() => {
    const initial = new StepStore();
    initial.update(run.steps, selected);
    return initial;
  });
  useLayoutEffect(() => store.update(run.steps, selected), [store, run.steps, selected]);
  const skippedIds = run.steps.filter((s) => s.status === 'skipped').map((s) => s.id).join('\n');
  const skipped = useMemo(() => new Set(skippedIds.split('\n').filter(Boolean)), [skippedIds]);

  const now = useNow(run.status === 'running');
  const cancel = useMutation({ mutationFn: () => api.post<RunView>(`/v1/runs/${run.id}/cancel`), onSuccess: props.onCancelled });
  const resume = useMutation({ mutationFn: () => api.post<RunView>(`/v1/runs/${run.id}/resume`), onSuccess: props.onResumed });
  // The replay form: closed, open for the whole run (null), or for a fork from a step.
  const [replayFrom, setReplayFrom] = useState<string | null | undefined>(undefined);
  const finished = run.status !== 'running' && run.status !== 'queued';
  const step = selected ? run.steps.find((s) => s.id === selected) : undefined;
  const templateRef = step ? specSteps?.[step.id]?.template : undefined;
  const counts = countStatuses(run);

  return (
    <section aria-labelledby="run-title" className="run-page">
      <div className="spread">
        <h1 id="run-title">
          Run <code>{run.id}</code> <StatusBadge status={run.status} />
        </h1>
        <div className="row">
          <span className={`live live-${props.stream}`} role="status" aria-live="polite">
            {STREAM_LABEL[props.stream] ?? props.stream}
          </span>
          {run.status === 'queued' && run.queue && (
            <span role="status">
              Queued: position {run.queue.position}
              {run.queue.estimatedWaitMs !== null ? `, about ${Math.max(1, Math.round(run.queue.estimatedWaitMs / 1000))} s to wait` : ''}
            </span>
          )}
          {(run.status === 'running' || run.status === 'queued') && (
            <button type="button" className="danger" disabled={cancel.isPending} onClick={() => cancel.mutate()}>
              Cancel run
            </button>
          )}
          {(run.status === 'failed' || run.status === 'cancelled') && (
            <button type="button" disabled={resume.isPending} onClick={() => resume.mutate()}>
              Resume run
            </button>
          )}
          {finished && (
            <button type="button" className="secondary" onClick={() => setReplayFrom(replayFrom === null ? undefined : null)} aria-expanded={replayFrom === null}>
              Replay
            </button>
          )}
        </div>
      </div>
      {replayFrom !== undefined && <ReplayForm key={replayFrom ?? ''} run={run} from={replayFrom} onClose={() => setReplayFrom(undefined)} />}
      {cancel.isError && <ErrorMessage error={cancel.error} />}
      {resume.isError && <ErrorMessage error={resume.error} />}

      <div className="run-facts card">
        <dl className="facts">
          <dt>Pipeline</dt>
          <dd>
            {run.pipelineVersion > 0 ? (
              <Link to={`/pipelines/${encodeURIComponent(run.pipeline)}?version=${run.pipelineVersion}`}>
                {run.pipeline} v{run.pipelineVersion}
              </Link>
            ) : (
              <>
                {run.pipeline} <span className="muted">(inline spec)</span>
              </>
            )}
          </dd>
          {run.source && (
            <>
              <dt>Replay of</dt>
              <dd>
                <Link to={`/runs/${encodeURIComponent(run.source.run)}`}>
                  <code>{run.source.run}</code>
                </Link>
                {run.source.from && (
                  <>
                    {' '}
                    from step <code>{run.source.from}</code>
                  </>
                )}
                <span className="muted"> ({MODE_LABEL[run.source.mode]})</span>
                {' · '}
                <Link to={`/runs/${encodeURIComponent(run.source.run)}/diff/${encodeURIComponent(run.id)}`}>Compare with the source</Link>
              </dd>
            </>
          )}
          <dt>Started</dt>
          <dd>
            {formatTime(run.createdAt)}
            {run.actor && <span className="muted"> by key {run.actor}</span>}
          </dd>
          <dt>Duration</dt>
          <dd>{formatDuration(elapsed(run.createdAt, run.finishedAt, now))}</dd>
          <dt>Steps</dt>
          <dd>{counts}</dd>
          <dt>Tokens</dt>
          <dd>{formatTokens(run.usage)}</dd>
          <dt>Cost</dt>
          <dd>{formatCost(run.cost)}</dd>
          {run.templates.length > 0 && (
            <>
              <dt>Templates</dt>
              <dd>
                {run.templates.map((t) => (
                  <div key={t.ref}>
                    <code>
                      {t.name}@{t.version}
                    </code>
                    {t.label && <span className="muted"> ({t.label})</span>}
                    {t.experiment && <span> — experiment variant {t.experiment.variant}</span>}
                  </div>
                ))}
              </dd>
            </>
          )}
        </dl>
        <details className="inputs">
          <summary>Inputs</summary>
          <JsonText value={run.inputs} />
        </details>
        <CompareWith run={run.id} />
        <ProductsList run={run} />
      </div>
      {run.error && (
        <div className="error-box" role="alert">
          The run {run.status}: {run.error.message} <code>({run.error.code})</code>
        </div>
      )}

      <div className={`run-work${step ? ' with-panel' : ''}`}>
        <div className="run-views">
          {layout ? <RunGraph layout={layout} store={store} skipped={skipped} onSelect={onSelect} onRendered={markGraphRendered} /> : <p className="muted">Loading the graph…</p>}
          <div className="legend" aria-label="Legend">
            <span className="legend-edge depends_on">depends_on</span>
            <span className="legend-edge on_false">on_false</span>
            <span className="legend-edge on_success">on_success</span>
            <span className="legend-edge on_failure">on_failure</span>
            {!plan && run.pipelineVersion === 0 && <span className="muted">Routes are drawn for registered pipelines (an inline spec's plan is not kept).</span>}
          </div>
          <h2>Timeline</h2>
          <RunTimeline steps={run.steps} runStart={run.createdAt} runEnd={run.finishedAt} selected={selected} onSelect={onSelect} now={now} />
        </div>
        {step && (
          <StepPanel
            step={step}
            plan={planById.get(step.id)}
            template={templateRef ? run.templates.find((t) => t.ref === templateRef) : undefined}
            notes={notes[step.id]}
            onClose={props.onClose}
            onFork={finished ? () => setReplayFrom(step.id) : undefined}
          />
        )}
      </div>
    </section>
  );
}

const MODE_LABEL: Record<string, string> = { recorded: 'recorded answers', recorded_else_live: 'recorded answers, else live', live: 'live calls' };

/** Opens the comparison of this run with another, by id. */
function CompareWith({ run }: { run: string }) {
  const navigate = useNavigate();
  const [other, setOther] = useState('');
  return (
    <form
      className="row compare-with"
      onSubmit={(e) => {
        e.preventDefault();
        if (other.trim()) navigate(`/runs/${encodeURIComponent(run)}/diff/${encodeURIComponent(other.trim())}`);
      }}
    >
      <label htmlFor="compare-with">Compare with run</label>
      <input id="compare-with" value={other} onChange={(e) => setOther(e.target.value)} placeholder="another run's id" size={38} />
      <button type="submit" className="secondary" disabled={!other.trim()}>
        Compare
      </button>
    </form>
  );
}

const STREAM_LABEL: Record<string, string> = { connecting: 'connecting…', live: 'live', ended: 'final', reconnecting: 'reconnecting…', failed: 'not following' };

/** For the console bench: the moment the graph's nodes are on screen. */
function markGraphRendered() {
  performance.mark('trellis:graph-rendered');
}

function countStatuses(run: RunView): string {
  const counts = new Map<string, number>();
  for (const s of run.steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  return [...counts].map(([status, n]) => `${n} ${status}`).join(', ');
}

/** The clock, ticking every second while the run runs (durations of what is still going). */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!ticking) return;
    const timer = setInterval(() => setNow(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, [ticking]);
  return ticking ? now : Date.now();
}
