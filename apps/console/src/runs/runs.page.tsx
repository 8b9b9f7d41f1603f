import { useState, type FormEvent } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { PipelineView, RunSummary } from '@trellis/contracts';
import { Link, useSearchParams } from 'react-router';
import { query } from '../api/api-client';
import { useApi } from '../auth/session';
import { elapsed, formatCost, formatCount, formatDuration, formatTime, shortId } from '../ui/format';
import { ErrorMessage } from '../ui/query-state';
import { StatusBadge } from '../ui/status';

const PAGE_SIZE = 50;
/** The first page follows new runs by polling: the list has no project-wide event stream to follow. */
const LIVE_INTERVAL_MS = 2_000;
const FILTERS = ['status', 'pipeline', 'from', 'to', 'id', 'input'] as const;
type Filter = (typeof FILTERS)[number];

/** `datetime-local` value (the browser's time zone) → an instant for the API. */
const instant = (local: string | null) => (local ? new Date(local).toISOString() : undefined);

export function RunsPage() {
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const before = params.get('before');
  // The cursors of the pages before this one, so that "Newer" goes back one page.
  const [newer, setNewer] = useState<string[]>([]);
  const filter = (name: Filter) => params.get(name) ?? '';
  const apiQuery = query({
    limit: PAGE_SIZE,
    before,
    status: filter('status'),
    pipeline: filter('pipeline'),
    created_from: instant(filter('from')),
    created_to: instant(filter('to')),
    id: filter('id').trim(),
    input: filter('input').trim(),
  });

  const runs = useQuery({
    queryKey: ['runs', apiQuery],
    queryFn: ({ signal }) => api.get<{ items: RunSummary[]; next: string | null }>(`/v1/runs${apiQuery}`, { signal }),
    placeholderData: keepPreviousData,
    refetchInterval: before ? false : LIVE_INTERVAL_MS,
  });
  const pipelines = useQuery({
    queryKey: ['pipelines'],
    queryFn: ({ signal }) => api.get<{ items: Array<Pick<PipelineView, 'name'>> }>('/v1/pipelines', { signal }),
    staleTime: 60_000,
  });

  const update = (changes: Partial<Record<Filter | 'before', string | null>>, keepCursor = false) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!keepCursor) {
      next.delete('before');
      setNewer([]);
    }
    setParams(next);
  };
  const applyText = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    update({ id: String(form.get('id') ?? ''), input: String(form.get('input') ?? ''), pipeline: String(form.get('pipeline') ?? '') });
  };
  const filtered = FILTERS.some((f) => filter(f));

  return (
    <section aria-labelledby="runs-title">
      <div className="spread">
        <h1 id="runs-title">Runs</h1>
        <span className="muted" aria-live="polite">
          {before ? 'Older runs' : 'Newest runs, updated live'}
        </span>
      </div>
      <form className="filters" onSubmit={applyText} role="search" aria-label="Filter runs">
        <div className="field">
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={filter('status')} onChange={(e) => update({ status: e.target.value })}>
            <option value="">any</option>
            {['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-pipeline">Pipeline</label>
          <input id="f-pipeline" key={`p-${filter('pipeline')}`} name="pipeline" list="f-pipelines" defaultValue={filter('pipeline')} size={16} />
          <datalist id="f-pipelines">
            {(pipelines.data?.items ?? []).map((p) => (
              <option key={p.name} value={p.name} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="f-from">Started from</label>
          <input id="f-from" type="datetime-local" value={filter('from')} onChange={(e) => update({ from: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-to">Started before</label>
          <input id="f-to" type="datetime-local" value={filter('to')} onChange={(e) => update({ to: e.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="f-id">Run id</label>
          <input id="f-id" key={`i-${filter('id')}`} name="id" defaultValue={filter('id')} placeholder="id or its start" size={16} spellCheck={false} />
        </div>
        <div className="field">
          <label htmlFor="f-input">Input contains</label>
          <input id="f-input" key={`t-${filter('input')}`} name="input" defaultValue={filter('input')} placeholder="text in an input value" size={22} />
        </div>
        <button type="submit">Search</button>
        {filtered && (
          <button type="button" className="secondary" onClick={() => update(Object.fromEntries(FILTERS.map((f) => [f, null])))}>
            Clear filters
          </button>
        )}
      </form>

      {runs.isError && <ErrorMessage error={runs.error} what="runs" />}
      {runs.isPending && <p className="muted">Loading runs…</p>}
      {runs.data && (
        <>
          <table className="grid" aria-label="Runs" aria-busy={runs.isFetching && runs.isPlaceholderData}>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Pipeline</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col" className="num">
                  Duration
                </th>
                <th scope="col" className="num">
                  Tokens
                </th>
                <th scope="col" className="num">
                  Cost
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((run) => (
                <tr key={run.id}>
                  <td>
                    <Link to={`/runs/${run.id}`} aria-label={`Run ${run.id}`} title={run.id}>
                      <code>{shortId(run.id)}</code>
                    </Link>
                  </td>
                  <td>
                    {run.pipeline}
                    {run.pipelineVersion > 0 && <span className="muted"> v{run.pipelineVersion}</span>}
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{formatTime(run.createdAt)}</td>
                  <td className="num">{formatDuration(elapsed(run.createdAt, run.finishedAt))}</td>
                  <td className="num">{formatCount(run.usage.inputTokens + run.usage.outputTokens)}</td>
                  <td className="num">{formatCost(run.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {runs.data.items.length === 0 && <p className="muted">{filtered ? 'No run matches these filters.' : 'No runs yet.'}</p>}
          <nav className="pager" aria-label="Pages of runs">
            <button type="button" className="secondary" disabled={!before} onClick={() => update({ before: null })}>
              Newest
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!before}
              onClick={() => {
                const previous = newer.at(-1) ?? null;
                setNewer(newer.slice(0, -1));
                update({ before: previous }, true);
              }}
            >
              Newer
            </button>
            <button
              type="button"
              className="secondary"
              disabled={!runs.data.next}
              onClick={() => {
                setNewer([...newer, before ?? '']);
                update({ before: runs.data.next }, true);
              }}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
