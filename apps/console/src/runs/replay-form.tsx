import { useEffect, useId, useRef, useState } from 'react';
import { useMutation } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import type { ReplayMode, ReplayRunBody, RunView } from '@trellis/contracts';

/** What the form sends: the priority is the gateway's default. */
type ReplayRequest = Omit<ReplayRunBody, 'priority'>;
import { useApi } from '../auth/session';
import { ErrorMessage } from '../ui/query-state';

const MODES: Array<[ReplayMode, string]> = [
  ['recorded', 'Recorded answers only (no model calls; a changed request fails its step)'],
  ['recorded_else_live', 'Recorded answers, calling the model where a request changed'],
  ['live', 'Call every model again'],
];

/**
 * Replays a run (`from` null) or forks it from a step (docs/replay.md): how calls are answered,
 * and at most one change of each kind — the inputs (edited as JSON; sent only when changed) and
 * a template's selector. The new run opens when the gateway has accepted it.
 */
export function ReplayForm({ run, from, onClose }: { run: RunView; from: string | null; onClose(): void }) {
  const api = useApi();
  const navigate = useNavigate();
  const id = useId();
  const original = JSON.stringify(run.inputs, null, 2);
  const [mode, setMode] = useState<ReplayMode>(from === null ? 'recorded' : 'recorded_else_live');
  const [inputs, setInputs] = useState(original);
  const templateNames = [...new Set(run.templates.map((t) => t.name))];
  const [templates, setTemplates] = useState<Record<string, string>>({});
  const [invalid, setInvalid] = useState<string | null>(null);
  // Opened from the step panel, the form is at the top of the page: bring it into view.
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.scrollIntoView({ block: 'nearest' });
    heading.current?.focus();
  }, [from]);

  const replay = useMutation({
    mutationFn: (body: ReplayRequest) => api.post<RunView>(`/v1/runs/${encodeURIComponent(run.id)}/replay`, { body }),
    onSuccess: (created) => navigate(`/runs/${encodeURIComponent(created.id)}`),
  });

  const submit = () => {
    const overrides: NonNullable<ReplayRequest['overrides']> = {};
    if (inputs.trim() !== original.trim()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(inputs);
      } catch (err) {
        setInvalid(`The inputs are not JSON: ${(err as Error).message}`);
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        setInvalid('The inputs must be a JSON object (input name → value).');
        return;
      }
      overrides.inputs = parsed as Record<string, unknown>;
    }
    const chosen = Object.entries(templates).filter(([, selector]) => selector.trim() !== '');
    if (chosen.length) overrides.templates = Object.fromEntries(chosen.map(([name, selector]) => [name, selector.trim()]));
    setInvalid(null);
    replay.mutate({ mode, ...(from !== null ? { from } : {}), ...(Object.keys(overrides).length ? { overrides } : {}) });
  };

  const title = from === null ? 'Replay this run' : `Fork from step ${from}`;
  return (
    <form
      className="replay-form card"
      aria-label={title}
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <h3 tabIndex={-1} ref={heading}>
        {title}
      </h3>
      <p className="muted">
        {from === null
          ? 'A new run of the same pipeline version and inputs; this run never changes.'
          : `Steps before ${from} are carried over as they ran; ${from} and what follows run again.`}
      </p>
      <div className="replay-fields">
        <label htmlFor={`${id}-mode`}>Answers</label>
        <select id={`${id}-mode`} value={mode} onChange={(e) => setMode(e.target.value as ReplayMode)}>
          {MODES.map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
        <label htmlFor={`${id}-inputs`}>Inputs (JSON)</label>
        <textarea id={`${id}-inputs`} className="code" rows={Math.min(12, original.split('\n').length + 1)} value={inputs} onChange={(e) => setInputs(e.target.value)} spellCheck={false} />
        {templateNames.map((name) => (
          <TemplateOverride key={name} id={`${id}-t-${name}`} name={name} pinned={run.templates.find((t) => t.name === name)!.version} value={templates[name] ?? ''} onChange={(v) => setTemplates((t) => ({ ...t, [name]: v }))} />
        ))}
      </div>
      {invalid && (
        <p role="alert" className="error-box">
          {invalid}
        </p>
      )}
      {replay.isError && <ErrorMessage error={replay.error} />}
      <div className="row">
        <button type="submit" disabled={replay.isPending}>
          {from === null ? 'Start replay' : 'Start fork'}
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function TemplateOverride({ id, name, pinned, value, onChange }: { id: string; name: string; pinned: number; value: string; onChange(v: string): void }) {
  return (
    <>
      <label htmlFor={id}>Template {name}</label>
      <input id={id} value={value} onChange={(e) => onChange(e.target.value)} placeholder={`as pinned (v${pinned}); or a label, a version, latest`} />
    </>
  );
}
