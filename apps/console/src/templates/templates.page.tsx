import { useQuery } from '@tanstack/react-query';
import type { TemplateLevel, TemplateSummary } from '@trellis/contracts';
import { Link } from 'react-router';
import { useApi } from '../auth/session';
import { formatTime } from '../ui/format';
import { QueryState } from '../ui/query-state';

const LEVELS: Array<{ level: TemplateLevel; title: string; note: string }> = [
  { level: 'global', title: 'Global', note: 'every project sees these (changing them needs the admin token)' },
  { level: 'project', title: 'Project', note: "this project's own templates and overrides" },
  { level: 'feature', title: 'Feature', note: 'overrides for one feature type inside the project' },
];

/** The templates the project sees, by level: global, project, feature. */
export default function TemplatesPage() {
  const api = useApi();
  const templates = useQuery({ queryKey: ['templates'], queryFn: ({ signal }) => api.get<{ items: TemplateSummary[] }>('/v1/templates', { signal }) });
  return (
    <section aria-labelledby="templates-title">
      <h1 id="templates-title">Templates</h1>
      <QueryState query={templates} what="templates">
        {({ items }) => (
          <>
            {LEVELS.map(({ level, title, note }) => {
              const at = items.filter((t) => t.level === level);
              return (
                <section key={level} aria-labelledby={`level-${level}`}>
                  <h2 id={`level-${level}`}>
                    {title} <span className="muted">({at.length}) — {note}</span>
                  </h2>
                  {at.length > 0 && <TemplateTable templates={at} level={level} />}
                </section>
              );
            })}
          </>
        )}
      </QueryState>
    </section>
  );
}

function TemplateTable({ templates, level }: { templates: TemplateSummary[]; level: TemplateLevel }) {
  return (
    <table className="grid" aria-label={`${level} templates`}>
      <thead>
        <tr>
          <th scope="col">Template</th>
          {level === 'feature' && <th scope="col">Feature</th>}
          <th scope="col">Category</th>
          <th scope="col">Latest</th>
          <th scope="col">Labels</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {templates.map((t) => (
          <tr key={`${t.name}/${t.feature ?? ''}`}>
            <td>
              <Link to={`/templates/${encodeURIComponent(t.name)}${t.feature ? `?feature=${encodeURIComponent(t.feature)}` : ''}`}>{t.name}</Link>
            </td>
            {level === 'feature' && <td>{t.feature}</td>}
            <td>{t.category}</td>
            <td>v{t.latest}</td>
            <td>
              {Object.entries(t.labels).map(([label, version]) => (
                <span key={label} className="label-chip">
                  {label} → v{version}
                </span>
              ))}
            </td>
            <td>{formatTime(t.updatedAt)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
