import { useState } from 'react';
import type { RunView } from '@trellis/contracts';
import { useApi } from '../auth/session';
import { formatCount } from '../ui/format';
import { ErrorMessage } from '../ui/query-state';

/**
 * The run's product files. A download goes through the API client (the key travels in the
 * `Authorization` header, never in a link) and is handed to the browser as a file.
 */
export function ProductsList({ run }: { run: RunView }) {
  const api = useApi();
  const [error, setError] = useState<unknown>(null);
  if (!run.products.length) return null;
  const download = async (path: string) => {
    setError(null);
    try {
      const blob = await api.blob(`/v1/runs/${run.id}/products/${path.split('/').map(encodeURIComponent).join('/')}`);
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = path.split('/').at(-1) ?? 'product';
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <div className="products">
      <h2>Products</h2>
      <ul>
        {run.products.map((p) => (
          <li key={p.path}>
            {p.error === undefined ? (
              <>
                <button type="button" className="link" onClick={() => void download(p.path)} aria-label={`Download ${p.path}`}>
                  {p.path}
                </button>{' '}
                <span className="muted">
                  {p.contentType}, {formatCount(p.size)} bytes
                </span>
              </>
            ) : (
              <>
                <code>{p.path}</code> <span className="error">not built: {p.error}</span>
              </>
            )}
          </li>
        ))}
      </ul>
      {error !== null && <ErrorMessage error={error} what="the product" />}
    </div>
  );
}
