import type { ReactNode } from 'react';
import type { PlanView } from '@trellis/contracts';
import { formatCost } from '../ui/format';

/** A compiled plan: the parallel batches, the critical path, each step's model and why, routes and the cost range. */
export function PlanDetails({ plan }: { plan: PlanView }) {
  return (
    <div className="plan">
      <dl className="facts">
        <dt>Steps</dt>
        <dd>{plan.steps.length}</dd>
        <dt>Batches</dt>
        <dd>
          <ol className="batches" aria-label="Batches">
            {plan.batches.map((batch, i) => (
              <li key={i}>
                {batch.map((id) => (
                  <code key={id}>{id}</code>
                ))}
              </li>
            ))}
          </ol>
        </dd>
        <dt>Critical path</dt>
        <dd aria-label="Critical path">{plan.criticalPath.length ? plan.criticalPath.map((id) => <code key={id}>{id}</code>).reduce<ReactNode[]>((out, el, i) => (i ? [...out, ' → ', el] : [el]), []) : '—'}</dd>
        <dt>Cost of a run</dt>
        <dd>{plan.estimatedCost ? `${formatCost(plan.estimatedCost.min)} to ${formatCost(plan.estimatedCost.max)}` : 'unknown (no prices in the model catalog)'}</dd>
      </dl>
      <table className="grid" aria-label="Steps of the plan">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Kind</th>
            <th scope="col">Depends on</th>
            <th scope="col">Model</th>
            <th scope="col">Why this model</th>
            <th scope="col">Pool</th>
            <th scope="col">Reached by</th>
          </tr>
        </thead>
        <tbody>
          {plan.steps.map((s) => (
            <tr key={s.id}>
              <td>
                <code>{s.id}</code>
              </td>
              <td>{s.kind}</td>
              <td>{s.dependsOn.join(', ') || '—'}</td>
              <td>{s.model}</td>
              <td className="muted">{s.modelReason}</td>
              <td>{s.pool}</td>
              <td>
                {s.routedFrom.map((r) => (
                  <div key={`${r.from}-${r.when}`}>
                    on_{r.when} of <code>{r.from}</code>
                  </div>
                ))}
                {s.condition && (
                  <div>
                    when <code>{s.condition}</code>
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
