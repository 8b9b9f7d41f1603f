import { useRef, useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import type { PlanView } from '@trellis/contracts';
import { ApiError } from '../api/api-client';
import { useApi } from '../auth/session';
import { ErrorMessage } from '../ui/query-state';
import { PlanDetails } from './plan-view';

const EXAMPLE = `version: 1
name: hello
inputs:
  topic: { type: string, required: true }
steps:
  outline:
    prompt: "Outline a note about {{ inputs.topic }}"
  write:
    depends_on: [outline]
    prompt: "Write it from {{ steps.outline.output }}"
`;

interface Problem {
  path?: string;
  message: string;
  line?: number;
  column?: number;
}

/** Compiles a pasted pipeline without storing it: its plan, or every problem at its line and column. */
export default function ValidatePage() {
  const api = useApi();
  const [yaml, setYaml] = useState(EXAMPLE);
  const editor = useRef<HTMLTextAreaElement>(null);
  const validate = useMutation({ mutationFn: (source: string) => api.post<PlanView>('/v1/pipelines/validate', { body: source, contentType: 'application/yaml' }) });
  const problems: Problem[] = validate.error instanceof ApiError && validate.error.status === 400 ? (validate.error.problem.errors ?? [{ message: validate.error.message }]) : [];

  const submit = (e: FormEvent) => {
    e.preventDefault();
    validate.mutate(yaml);
  };
  /** Puts the caret at a problem's line and column. */
  const goTo = (p: Problem) => {
    const area = editor.current;
    if (!area || !p.line) return;
    const lines = yaml.split('\n');
    const offset = lines.slice(0, p.line - 1).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, (p.column ?? 1) - 1);
    area.focus();
    area.setSelectionRange(offset, Math.min(yaml.length, offset + Math.max(1, (lines[p.line - 1]?.length ?? 1) - (p.column ?? 1) + 1)));
  };

  return (
    <section aria-labelledby="validate-title">
      <h1 id="validate-title">Validate a pipeline</h1>
      <p className="muted">Paste a pipeline in YAML: it is compiled, never stored. Every problem is listed with its line and column.</p>
      <form onSubmit={submit} className="validator">
        <label htmlFor="pipeline-yaml">Pipeline YAML</label>
        <textarea id="pipeline-yaml" ref={editor} className="code" rows={22} spellCheck={false} value={yaml} onChange={(e) => setYaml(e.target.value)} />
        <div className="row">
          <button type="submit" disabled={validate.isPending}>
            Validate
          </button>
        </div>
      </form>
      {validate.isSuccess && (
        <div className="ok-box" role="status">
          Valid: {validate.data.steps.length} steps in {validate.data.batches.length} batches.
        </div>
      )}
      {validate.isSuccess && <PlanDetails plan={validate.data} />}
      {problems.length > 0 && (
        <div className="error-box" role="alert">
          <p>
            {problems.length} problem{problems.length > 1 ? 's' : ''}:
          </p>
          <ul className="problems" aria-label="Problems">
            {problems.map((p, i) => (
              <li key={i}>
                {p.line ? (
                  <button type="button" className="link" onClick={() => goTo(p)} aria-label={`Go to line ${p.line}, column ${p.column ?? 1}`}>
                    <code>
                      {p.line}:{p.column ?? 1}
                    </code>
                  </button>
                ) : (
                  <code>—</code>
                )}{' '}
                {p.message} {p.path && <span className="muted">({p.path})</span>}
              </li>
            ))}
          </ul>
        </div>
      )}
      {validate.isError && problems.length === 0 && <ErrorMessage error={validate.error} />}
    </section>
  );
}
