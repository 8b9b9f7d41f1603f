import { useMemo, useState } from 'react';
import type { TemplateVersionView } from '@trellis/contracts';
import { bodyText, sideBySide } from './side-by-side';
import { VersionSelect } from './version-select';

/** Any two versions side by side: the body, then the model parameters. */
export function TemplateDiff({ versions }: { versions: TemplateVersionView[] }) {
  // Newest first: by default, the previous version against the newest.
  const [from, setFrom] = useState(String(versions[1]?.version ?? versions[0]!.version));
  const [to, setTo] = useState(String(versions[0]!.version));
  const a = versions.find((v) => String(v.version) === from);
  const b = versions.find((v) => String(v.version) === to);
  const rows = useMemo(() => (a && b ? sideBySide(text(a), text(b)) : []), [a, b]);
  const changed = rows.filter((r) => r.kind === 'changed').length;
  return (
    <section aria-labelledby="diff-title">
      <h2 id="diff-title">Compare versions</h2>
      <div className="row">
        <label htmlFor="diff-from">From version</label>
        <VersionSelect id="diff-from" value={from} onChange={setFrom} versions={versions} />
        <label htmlFor="diff-to">To version</label>
        <VersionSelect id="diff-to" value={to} onChange={setTo} versions={versions} />
        <span className="muted" role="status">
          {changed === 0 ? 'identical' : `${changed} changed line${changed > 1 ? 's' : ''}`}
        </span>
      </div>
      <table className="diff" aria-label={`Diff of v${from} and v${to}`}>
        <thead>
          <tr>
            <th colSpan={2} scope="colgroup">
              v{from}
            </th>
            <th colSpan={2} scope="colgroup">
              v{to}
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} className={r.kind}>
              <td className="ln">{r.left?.n ?? ''}</td>
              <td className={r.kind === 'changed' && r.left ? 'removed' : undefined}>
                {r.kind === 'changed' && r.left && <span className="sr-only">removed: </span>}
                {r.left?.text ?? ''}
              </td>
              <td className="ln">{r.right?.n ?? ''}</td>
              <td className={r.kind === 'changed' && r.right ? 'added' : undefined}>
                {r.kind === 'changed' && r.right && <span className="sr-only">added: </span>}
                {r.right?.text ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function text(v: TemplateVersionView): string {
  const params = Object.keys(v.parameters).length ? `\n\n--- parameters ---\n${JSON.stringify(v.parameters, null, 2)}` : '';
  return `${bodyText(v.body)}${params}\n`;
}
