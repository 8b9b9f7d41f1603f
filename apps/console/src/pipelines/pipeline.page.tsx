import { useQuery } from '@tanstack/react-query';
import type { PipelineSummary, PipelineView } from '@trellis/contracts';
import { Link, useParams, useSearchParams } from 'react-router';
import { stringify } from 'yaml';
import { useApi } from '../auth/session';
import { MarkdownText } from '../ui/content';
import { formatTime } from '../ui/format';
import { QueryState } from '../ui/query-state';
import { PlanDetails } from './plan-view';

/** A pipeline: its versions, one version's spec (as YAML) and compiled plan, the orchestrator's analysis. */
export default function PipelinePage() {
  const { name = '' } = useParams();
  const api = useApi();
  const [params, setParams] = useSearchParams();
  const path = `/v1/pipelines/${encodeURIComponent(name)}`;
  const versions = useQuery({ queryKey: ['pipeline-versions', name], queryFn: ({ signal }) => api.get<{ items: PipelineSummary[] }>(`${path}/versions`, { signal }) });
  const version = Number(params.get('version')) || versions.data?.items[0]?.version;
  const pipeline = useQuery({
    queryKey: ['pipeline', name, version],
    enabled: version !== undefined,
    staleTime: Infinity,
    queryFn: ({ signal }) => api.get<PipelineView>(`${path}/versions/${version}`, { signal }),
  });

  return (
    <section aria-labelledby="pipeline-title">
      <div className="spread">
        <h1 id="pipeline-title">
          Pipeline <code>{name}</code>
        </h1>
        <Link to={`/runs?pipeline=${encodeURIComponent(name)}`}>Runs of this pipeline</Link>
      </div>
      <QueryState query={versions} what="pipeline">
        {({ items }) => (
          <div className="row">
            <label htmlFor="pipeline-version">Version</label>
            <select id="pipeline-version" value={version} onChange={(e) => setParams({ version: e.target.value })}>
              {items.map((v) => (
                <option key={v.version} value={v.version}>
                  v{v.version} — {formatTime(v.createdAt)}
                </option>
              ))}
            </select>
            <span className="muted">{items.length} version(s)</span>
          </div>
        )}
      </QueryState>
      {pipeline.data && <PipelineVersion pipeline={pipeline.data} />}
      {pipeline.isError && <QueryState query={pipeline} what="pipeline version">{() => null}</QueryState>}
    </section>
  );
}

function PipelineVersion({ pipeline }: { pipeline: PipelineView }) {
  return (
    <>
      {pipeline.description && <p>{pipeline.description}</p>}
      <h2>Plan</h2>
      <PlanDetails plan={pipeline.plan} />
      {pipeline.analysis && (
        <>
          <h2>Analysis by {pipeline.analysis.model}</h2>
          <p>{pipeline.analysis.aligned ? 'The architecture serves the intention.' : <strong>The architecture does not serve the intention.</strong>}</p>
          <h3>Intention</h3>
          <MarkdownText text={pipeline.analysis.intention} />
          <h3>Architecture</h3>
          <MarkdownText text={pipeline.analysis.architecture} />
          {pipeline.analysis.feedback && (
            <>
              <h3>Feedback</h3>
              <MarkdownText text={pipeline.analysis.feedback} />
            </>
          )}
        </>
      )}
      <h2>Spec</h2>
      <p className="muted">
        v{pipeline.version}, hash <code>{pipeline.hash.slice(0, 12)}</code>, registered {formatTime(pipeline.createdAt)}
      </p>
      <pre className="spec" aria-label="Spec">
        {stringify(pipeline.spec, { lineWidth: 0 })}
      </pre>
    </>
  );
}
