import { useQuery } from '@tanstack/react-query';
import type { ExperimentSummary } from '@trellis/contracts';
import { Link } from 'react-router';
import { useApi } from '../auth/session';
import { formatTime } from '../ui/format';
import { QueryState } from '../ui/query-state';
import { ExperimentTarget, variantSetting } from './experiment-target';

export default function ExperimentsPage() {
  const api = useApi();
  const experiments = useQuery({ queryKey: ['experiments'], queryFn: ({ signal }) => api.get<{ items: ExperimentSummary[] }>('/v1/experiments', { signal }) });
  return (
    <section aria-labelledby="experiments-title">
      <h1 id="experiments-title">Experiments</h1>
      <QueryState query={experiments} what="experiments">
        {({ items }) =>
          items.length === 0 ? (
            <p className="muted">
              No experiment yet: <code>POST /v1/experiments</code> splits a template's traffic between versions (docs/templates.md).
            </p>
          ) : (
            <table className="grid" aria-label="Experiments">
              <thead>
                <tr>
                  <th scope="col">Experiment</th>
                  <th scope="col">Template</th>
                  <th scope="col">Status</th>
                  <th scope="col">Variants</th>
                  <th scope="col">Promoted</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {items.map((e) => (
                  <tr key={e.id}>
                    <td>
                      <Link to={`/experiments/${e.id}`}>{e.description ?? e.id}</Link>
                    </td>
                    <td>
                      <ExperimentTarget experiment={e} />
                    </td>
                    <td>{e.status}</td>
                    <td>{e.variants.map((v) => `${v.name} (${variantSetting(v)}, weight ${v.weight})`).join(', ')}</td>
                    <td>{e.promoted ? `${e.promoted.variant} → v${e.promoted.version}` : ''}</td>
                    <td>{formatTime(e.createdAt)}</td>
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
