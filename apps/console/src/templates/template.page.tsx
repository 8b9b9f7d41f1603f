import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { LabelView, RenderedTemplate, TemplateLookup, TemplateVersionView } from '@trellis/contracts';
import { Link, useParams, useSearchParams } from 'react-router';
import { query } from '../api/api-client';
import { useApi } from '../auth/session';
import { MessagesView } from '../ui/content';
import { formatTime } from '../ui/format';
import { ErrorMessage, QueryState } from '../ui/query-state';
import { TemplateDiff } from './template-diff';
import { VersionSelect } from './version-select';

const ADMIN_HEADER = 'x-trellis-admin-token';

/** A template as the project (or a feature) sees it: its versions, a diff of any two, its labels, a render preview. */
export default function TemplatePage() {
  const { name = '' } = useParams();
  const [params] = useSearchParams();
  const feature = params.get('feature');
  const api = useApi();
  const lookup = useQuery({
    queryKey: ['template', name, feature],
    queryFn: ({ signal }) => api.get<TemplateLookup>(`/v1/templates/${encodeURIComponent(name)}${query({ feature })}`, { signal }),
  });
  return (
    <section aria-labelledby="template-title">
      <h1 id="template-title">
        Template <code>{name}</code>
        {feature && <span className="muted"> for feature {feature}</span>}
      </h1>
      <QueryState query={lookup} what="template">
        {(t) => <TemplateBody lookup={t} feature={feature} />}
      </QueryState>
    </section>
  );
}

function TemplateBody({ lookup, feature }: { lookup: TemplateLookup; feature: string | null }) {
  const t = lookup.template;
  const labelsOf = (version: number) => Object.entries(t.labels).filter(([, v]) => v === version).map(([l]) => l);
  return (
    <>
      <dl className="facts card">
        <dt>Level</dt>
        <dd>
          {lookup.level} <span className="muted">— {lookup.reason}</span>
        </dd>
        <dt>Category</dt>
        <dd>{t.category}</dd>
        <dt>Latest</dt>
        <dd>v{t.latest}</dd>
        {t.experiment && (
          <>
            <dt>Experiment</dt>
            <dd>
              <Link to={`/experiments/${t.experiment.id}`}>{t.experiment.id}</Link> ({t.experiment.status})
            </dd>
          </>
        )}
      </dl>

      <h2>Versions</h2>
      <table className="grid" aria-label="Versions">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Labels</th>
            <th scope="col">Variables</th>
            <th scope="col">Message</th>
            <th scope="col">Author</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {t.versions.map((v) => (
            <tr key={v.version}>
              <td>v{v.version}</td>
              <td>
                {labelsOf(v.version).map((l) => (
                  <span key={l} className="label-chip">
                    {l}
                  </span>
                ))}
              </td>
              <td>{v.variables.map((x) => <code key={x}>{x} </code>)}</td>
              <td>{v.message ?? ''}</td>
              <td>{v.author ?? ''}</td>
              <td>{formatTime(v.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      {t.versions.length > 1 && <TemplateDiff versions={t.versions} />}
      <Labels lookup={lookup} feature={feature} />
      <RenderPreview name={t.name} versions={t.versions} feature={feature} />
    </>
  );
}

/** Points a label at a version; a protected label (production) needs the admin token, which is sent with this request only. */
function Labels({ lookup, feature }: { lookup: TemplateLookup; feature: string | null }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const t = lookup.template;
  const [label, setLabel] = useState('production');
  const [version, setVersion] = useState(String(t.latest));
  const [adminToken, setAdminToken] = useState('');
  const move = useMutation({
    mutationFn: () =>
      api.put<LabelView>(`/v1/templates/${encodeURIComponent(t.name)}/labels/${encodeURIComponent(label.trim())}`, {
        body: { version: Number(version), level: t.level, ...(t.level === 'feature' && feature ? { feature } : {}) },
        ...(adminToken ? { headers: { [ADMIN_HEADER]: adminToken } } : {}),
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['template', t.name] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    move.mutate();
  };
  return (
    <section aria-labelledby="labels-title">
      <h2 id="labels-title">Labels</h2>
      <table className="grid narrow" aria-label="Labels">
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Version</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(t.labels).map(([l, v]) => (
            <tr key={l}>
              <td>{l}</td>
              <td>v{v}</td>
            </tr>
          ))}
          <tr>
            <td>latest</td>
            <td>v{t.latest}</td>
          </tr>
        </tbody>
      </table>
      <form className="filters" onSubmit={submit} aria-label="Move a label">
        <div className="field">
          <label htmlFor="label-name">Label</label>
          <input id="label-name" list="label-names" value={label} onChange={(e) => setLabel(e.target.value)} required size={14} />
          <datalist id="label-names">
            {Object.keys(t.labels).map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="label-version">Version</label>
          <VersionSelect id="label-version" value={version} onChange={setVersion} versions={t.versions} />
        </div>
        <div className="field">
          <label htmlFor="label-admin">Admin token</label>
          <input id="label-admin" type="password" autoComplete="off" value={adminToken} onChange={(e) => setAdminToken(e.target.value)} placeholder="for protected labels" size={18} />
        </div>
        <button type="submit" disabled={move.isPending}>
          Move label
        </button>
      </form>
      {move.isSuccess && (
        <p className="ok-box" role="status">
          {move.data.label} now points at v{move.data.version}
          {move.data.previous !== null ? ` (was v${move.data.previous})` : ''}.
        </p>
      )}
      {move.isError && <ErrorMessage error={move.error} />}
    </section>
  );
}

/** The template rendered with variables, as a run would send it (a missing variable is an error naming it). */
function RenderPreview({ name, versions, feature }: { name: string; versions: TemplateVersionView[]; feature: string | null }) {
  const api = useApi();
  const [selector, setSelector] = useState('latest');
  const chosen = selector === 'latest' ? versions[0] : versions.find((v) => String(v.version) === selector);
  const [values, setValues] = useState<Record<string, string>>({});
  const render = useMutation({
    mutationFn: () =>
      api.post<RenderedTemplate>(`/v1/templates/${encodeURIComponent(name)}/render`, {
        body: { selector, variables: Object.fromEntries((chosen?.variables ?? []).map((v) => [v, parseValue(values[v] ?? '')])), ...(feature ? { feature } : {}) },
      }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    render.mutate();
  };
  return (
    <section aria-labelledby="render-title">
      <h2 id="render-title">Render preview</h2>
      <form onSubmit={submit} className="render-form">
        <div className="field">
          <label htmlFor="render-version">Render version</label>
          <VersionSelect id="render-version" value={selector} onChange={setSelector} versions={versions} latest />
        </div>
        {(chosen?.variables ?? []).map((v) => (
          <div className="field" key={v}>
            <label htmlFor={`var-${v}`}>{v}</label>
            <input id={`var-${v}`} value={values[v] ?? ''} onChange={(e) => setValues({ ...values, [v]: e.target.value })} size={40} />
          </div>
        ))}
        {chosen && chosen.variables.length > 0 && <p className="muted">A value starting with [ or {'{'} is read as JSON (lists, objects).</p>}
        <button type="submit" disabled={render.isPending}>
          Render
        </button>
      </form>
      {render.isSuccess && (
        <div className="rendered" aria-label="Rendered template">
          <p className="muted">
            v{render.data.version} ({render.data.level}
            {render.data.label ? `, label ${render.data.label}` : ''})
          </p>
          {typeof render.data.rendered === 'string' ? <pre>{render.data.rendered}</pre> : <MessagesView messages={render.data.rendered} />}
        </div>
      )}
      {render.isError && <ErrorMessage error={render.error} />}
    </section>
  );
}

function parseValue(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}
