import type { ReactNode } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { ApiError } from '../api/api-client';

/** Loading, a failed request with the gateway's reason, or the page. */
export function QueryState<T>({ query, children, what }: { query: UseQueryResult<T>; what: string; children: (data: T) => ReactNode }) {
  if (query.isPending) return <p className="muted">Loading {what}…</p>;
  if (query.isError) return <ErrorMessage error={query.error} what={what} />;
  return <>{children(query.data)}</>;
}

export function ErrorMessage({ error, what }: { error: unknown; what?: string }) {
  const status = error instanceof ApiError ? error.status : null;
  const message = error instanceof Error ? error.message : String(error);
  const issues = error instanceof ApiError ? (error.problem.errors ?? []) : [];
  return (
    <div role="alert" className="error-box">
      <p>
        {status === 404 && what ? `No such ${what}. ` : what ? `Could not load ${what}: ` : ''}
        {message}
      </p>
      {issues.length > 0 && (
        <ul>
          {issues.map((i, n) => (
            <li key={n}>
              {i.path ? <code>{i.path}</code> : null} {i.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
