import { useQuery } from '@tanstack/react-query';
import type { PipelineSummary } from '@trellis/contracts';
import { Link } from 'react-router';
import { useApi } from '../auth/session';
import { formatTime } from '../ui/format';
import { QueryState } from '../ui/query-state';

export default function PipelinesPage() {
  const api = useApi();
  const pipelines = useQuery({ queryKey: ['pipelines'], queryFn: ({ signal }) => api.get<{ items: PipelineSummary[] }>('/v1/pipelines', { signal }) });
  return (
    <section aria-labelledby="pipelines-title">
      <div className="spread">
        <h1 id="pipelines-title">Pipelines</h1>
        <Link to="/validate">Validate a pipeline</Link>
      </div>
      <QueryState query={pipelines} what="pipelines">
        {({ items }) =>
          items.length === 0 ? (
            <p className="muted">
              No pipeline registered yet: <code>POST /v1/pipelines</code> or <code>trellis run file.yaml</code>.
            </p>
          ) : (
            <table className="grid" aria-label="Pipelines">
              <thead>
                <tr>
                  <th scope="col">Pipeline</th>
                  <th scope="col">Latest version</th>
                  <th scope="col">Description</th>
                  <th scope="col">Registered</th>
                  <th scope="col">Runs</th>
                </tr>
              </thead>
              <tbody>
                {items.map((p) => (
                  <tr key={p.name}>
                    <td>
                      <Link to={`/pipelines/${encodeURIComponent(p.name)}`}>{p.name}</Link>
                    </td>
                    <td>v{p.version}</td>
                    <td>{p.description ?? ''}</td>
                    <td>{formatTime(p.createdAt)}</td>
                    <td>
                      <Link to={`/runs?pipeline=${encodeURIComponent(p.name)}`} aria-label={`Runs of ${p.name}`}>
                        runs
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </QueryState>
    </section>
  );
}
