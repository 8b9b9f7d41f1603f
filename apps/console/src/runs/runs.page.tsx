import { useQuery } from '@tanstack/react-query';
import type { RunSummary } from '@trellis/contracts';
import { Link } from 'react-router';
import { useApi } from '../auth/session';
import { elapsed, formatCost, formatDuration, formatTime, shortId } from '../ui/format';
import { QueryState } from '../ui/query-state';
import { StatusBadge } from '../ui/status';

export function RunsPage() {
  const api = useApi();
  const runs = useQuery({
    queryKey: ['runs'],
    queryFn: ({ signal }) => api.get<{ items: RunSummary[]; next: string | null }>('/v1/runs?limit=50', { signal }),
    refetchInterval: 2_000,
  });
  return (
    <section aria-labelledby="runs-title">
      <h1 id="runs-title">Runs</h1>
      <QueryState query={runs} what="runs">
        {(page) => (
          <table className="grid">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Pipeline</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Tokens</th>
                <th scope="col">Cost</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((run) => (
                <tr key={run.id}>
                  <td>
                    <Link to={`/runs/${run.id}`} aria-label={`Run ${run.id}`}>
                      <code>{shortId(run.id)}</code>
                    </Link>
                  </td>
                  <td>{run.pipeline}</td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{formatTime(run.createdAt)}</td>
                  <td>{formatDuration(elapsed(run.createdAt, run.finishedAt))}</td>
                  <td className="num">{(run.usage.inputTokens + run.usage.outputTokens).toLocaleString('en-US')}</td>
                  <td className="num">{formatCost(run.cost)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryState>
    </section>
  );
}
