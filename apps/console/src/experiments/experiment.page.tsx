import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ExperimentView, VariantComparison } from '@trellis/contracts';
import { Link, useParams } from 'react-router';
import { useApi } from '../auth/session';
import { formatCost, formatCount, formatDuration, formatPercent, formatPValue, formatScore, formatTime } from '../ui/format';
import { ErrorMessage, QueryState } from '../ui/query-state';
import { ExperimentTarget, variantSetting } from './experiment-target';

/** What the registry counts significant (two-sided tests, ExperimentView.winner). */
const SIGNIFICANT = 0.05;

/** An experiment's variants against its metrics, the tests the registry computed, the winner, and promotion. */
export default function ExperimentPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const experiment = useQuery({
    queryKey: ['experiment', id],
    queryFn: ({ signal }) => api.get<ExperimentView>(`/v1/experiments/${encodeURIComponent(id)}`, { signal }),
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 5_000 : false),
  });
  return (
    <section aria-labelledby="experiment-title">
      <QueryState query={experiment} what="experiment">
        {(e) => <Experiment experiment={e} />}
      </QueryState>
    </section>
  );
}

function Experiment({ experiment: e }: { experiment: ExperimentView }) {
  const byVariant = new Map<string, VariantComparison>(e.comparisons.map((c) => [c.variant, c]));
  const control = e.variants[0]?.name;
  return (
    <>
      <h1 id="experiment-title">
        Experiment on <ExperimentTarget experiment={e} />{' '}
        <span className={`status status-${e.status === 'running' ? 'running' : 'pending'}`}>{e.status}</span>
      </h1>
      {e.description && <p>{e.description}</p>}
      <p className="muted">
        <code>{e.id}</code>, created {formatTime(e.createdAt)}
        {e.startedAt ? `, started ${formatTime(e.startedAt)}` : ''}
        {e.stoppedAt ? `, stopped ${formatTime(e.stoppedAt)}` : ''}. Control: <strong>{control}</strong>; each variant is tested against it.
      </p>

      <div className={e.winner ? 'ok-box' : 'notice'} role="status" aria-label="Winner">
        {e.winner ? (
          <>
            Winner: <strong>{e.winner}</strong> — significantly better than every other variant (p &lt; {SIGNIFICANT}).
          </>
        ) : (
          'No winner yet: no variant is significantly better than every other one.'
        )}
        {e.promoted && (
          <>
            {' '}
            Promoted <strong>{e.promoted.variant}</strong> (v{e.promoted.version}) to {e.kind === 'template' ? 'production' : `the pipeline's newest version`} on {formatTime(e.promoted.at)}.
          </>
        )}
      </div>

      <table className="grid" aria-label="Variants">
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col" className="num">
              Runs
            </th>
            <th scope="col" className="num">
              Acceptance rate
            </th>
            <th scope="col" className="num">
              Mean score
            </th>
            <th scope="col" className="num">
              Iterations
            </th>
            <th scope="col" className="num">
              Tokens (in / out)
            </th>
            <th scope="col" className="num">
              Cost
            </th>
            <th scope="col" className="num">
              Latency
            </th>
            <th scope="col">Against the control</th>
          </tr>
        </thead>
        <tbody>
          {e.results.map((r) => {
            const c = byVariant.get(r.name);
            return (
              <tr key={r.name} className={r.name === e.winner ? 'winner' : undefined}>
                <th scope="row">
                  {r.name} <span className="muted">{variantSetting(r)}, weight {r.weight}</span>
                  {r.name === e.winner && <strong> winner</strong>}
                </th>
                <td className="num">
                  {formatCount(r.runs)}
                  <div className="muted">
                    {r.runsCompleted} done, {r.runsSucceeded} ok
                  </div>
                </td>
                <td className="num">
                  {formatPercent(r.acceptanceRate)}
                  <div className="muted">
                    {r.stepsAccepted}/{r.stepsVerified} steps
                  </div>
                </td>
                <td className="num">
                  {formatScore(r.meanScore)}
                  {r.scoreStdDev !== null && <div className="muted">± {formatScore(r.scoreStdDev)}</div>}
                </td>
                <td className="num">{r.meanIterations === null ? '—' : r.meanIterations.toFixed(2)}</td>
                <td className="num">
                  {r.meanInputTokens === null ? '—' : Math.round(r.meanInputTokens)} / {r.meanOutputTokens === null ? '—' : Math.round(r.meanOutputTokens)}
                </td>
                <td className="num">{formatCost(r.meanCost)}</td>
                <td className="num">{formatDuration(r.meanLatencyMs)}</td>
                <td>{r.name === control ? <span className="muted">control</span> : c ? <Comparison c={c} /> : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted">Acceptance: two-proportion z-test; score: Welch's t-test; both two-sided, as the registry computes them.</p>
      <Promote experiment={e} />
    </>
  );
}

function Comparison({ c }: { c: VariantComparison }) {
  const mark = (p: number | null) => (p !== null && p < SIGNIFICANT ? <strong> significant</strong> : null);
  const signed = (d: number | null, f: (n: number) => string) => (d === null ? '—' : `${d >= 0 ? '+' : '−'}${f(Math.abs(d))}`);
  return (
    <div className="comparison">
      <div>
        acceptance {signed(c.acceptanceDiff, (d) => `${(d * 100).toFixed(1)} pts`)} ({formatPValue(c.acceptancePValue)}){mark(c.acceptancePValue)}
      </div>
      <div>
        score {signed(c.scoreDiff, (d) => d.toFixed(3))} ({formatPValue(c.scorePValue)}){mark(c.scorePValue)}
      </div>
    </div>
  );
}

/** Moves `production` to the winner (or a chosen variant) and stops the experiment; needs what moving production needs. */
function Promote({ experiment: e }: { experiment: ExperimentView }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [adminToken, setAdminToken] = useState('');
  const promote = useMutation({
    mutationFn: (variant: string | undefined) =>
      api.post<ExperimentView>(`/v1/experiments/${e.id}/promote`, { body: variant ? { variant } : {}, ...(adminToken ? { headers: { 'x-trellis-admin-token': adminToken } } : {}) }),
    onSuccess: (updated) => queryClient.setQueryData(['experiment', e.id], updated),
  });
  if (e.promoted) return null;
  return (
    <section aria-labelledby="promote-title">
      <h2 id="promote-title">Promote</h2>
      <p className="muted">Moves the template's production label to the variant's version and stops the experiment.</p>
      <div className="row">
        <div className="field">
          <label htmlFor="promote-admin">Admin token</label>
          <input id="promote-admin" type="password" autoComplete="off" value={adminToken} onChange={(ev) => setAdminToken(ev.target.value)} placeholder="when production is protected" size={22} />
        </div>
        {e.winner && (
          <button type="button" disabled={promote.isPending} onClick={() => promote.mutate(undefined)}>
            Promote the winner ({e.winner})
          </button>
        )}
        {e.variants
          .filter((v) => v.name !== e.winner)
          .map((v) => (
            <button key={v.name} type="button" className="secondary" disabled={promote.isPending} onClick={() => promote.mutate(v.name)}>
              Promote {v.name}
            </button>
          ))}
      </div>
      {promote.isError && <ErrorMessage error={promote.error} />}
    </section>
  );
}
