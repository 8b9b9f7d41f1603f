import { useState, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import type { RunDiff, StepDiff, TokenUsage } from '@trellis/contracts';
import { useApi } from '../auth/session';
import { formatCost, formatDuration, formatScore, formatTokens } from '../ui/format';
import { QueryState } from '../ui/query-state';
import { StatusBadge } from '../ui/status';

type Pair<T> = { a: T; b: T };

/** Two runs step by step (`GET /v1/runs/{a}/diff/{b}`): what changed first, then every step side by side. */
export default function DiffPage() {
  const { a = '', b = '' } = useParams();
  const api = useApi();
  const diff = useQuery({
    queryKey: ['diff', a, b],
    queryFn: ({ signal }) => api.get<RunDiff>(`/v1/runs/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`, { signal }),
    refetchOnWindowFocus: false,
  });
  return (
    <section aria-labelledby="diff-title" className="run-diff">
      <h1 id="diff-title">Compare runs</h1>
      <QueryState query={diff} what="comparison">
        {(d) => <DiffBody diff={d} />}
      </QueryState>
    </section>
  );
}

function DiffBody({ diff }: { diff: RunDiff }) {
  const { summary } = diff;
  const [open, setOpen] = useState<string | null>(summary.changed[0] ?? null);
  return (
    <>
      <div className="card">
        <table className="diff-runs" aria-label="Runs compared">
          <thead>
            <tr>
              <th scope="col" />
              <th scope="col">A</th>
              <th scope="col">B</th>
              <th scope="col">B − A</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Run</th>
              <td>
                <RunLink id={diff.a} />
              </td>
              <td>
                <RunLink id={diff.b} />
              </td>
              <td />
            </tr>
            <tr>
              <th scope="row">Status</th>
              <td>
                <StatusBadge status={diff.status.a} />
              </td>
              <td>
                <StatusBadge status={diff.status.b} />
              </td>
              <td />
            </tr>
            <tr>
              <th scope="row">Tokens</th>
              <td>{formatTokens(diff.usage.a)}</td>
              <td>{formatTokens(diff.usage.b)}</td>
              <td>{signed(total(diff.usage.b) - total(diff.usage.a))}</td>
            </tr>
            <tr>
              <th scope="row">Cost</th>
              <td>{formatCost(diff.cost.a)}</td>
              <td>{formatCost(diff.cost.b)}</td>
              <td>{(diff.cost.delta < 0 ? '−' : '+') + formatCost(Math.abs(diff.cost.delta))}</td>
            </tr>
            <tr>
              <th scope="row">Duration</th>
              <td>{diff.durationMs.a === null ? '–' : formatDuration(diff.durationMs.a)}</td>
              <td>{diff.durationMs.b === null ? '–' : formatDuration(diff.durationMs.b)}</td>
              <td>{diff.durationMs.delta === null ? '–' : (diff.durationMs.delta < 0 ? '−' : '+') + formatDuration(Math.abs(diff.durationMs.delta))}</td>
            </tr>
          </tbody>
        </table>
        <p role="status" className="diff-summary">
          {summary.identical ? (
            <strong>Identical: every step in both runs, none changed.</strong>
          ) : (
            <>
              {summary.changed.length > 0 && <span>Changed: {summary.changed.join(', ')}. </span>}
              {summary.added.length > 0 && <span>Only in B: {summary.added.join(', ')}. </span>}
              {summary.removed.length > 0 && <span>Only in A: {summary.removed.join(', ')}. </span>}
            </>
          )}
        </p>
      </div>

      <table className="runs diff-steps" aria-label="Steps compared">
        <thead>
          <tr>
            <th scope="col">Step</th>
            <th scope="col">Change</th>
            <th scope="col">Status</th>
            <th scope="col">Model</th>
            <th scope="col">Template</th>
            <th scope="col">Score</th>
            <th scope="col">Rounds</th>
            <th scope="col">Tokens</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {diff.steps.map((s) => (
            <tr key={s.id} className={s.change === 'identical' ? undefined : 'changed'} aria-selected={open === s.id}>
              <td>
                <button type="button" className="link" onClick={() => setOpen(open === s.id ? null : s.id)} aria-expanded={open === s.id}>
                  {s.id}
                </button>
              </td>
              <td>
                {s.change}
                {s.changed.length > 0 && <span className="muted"> ({s.changed.join(', ')})</span>}
                {s.recorded.b && <span className="muted"> · B answered from the recording</span>}
                {s.reused.b && <span className="muted"> · B carried over</span>}
              </td>
              <td>
                <Both pair={s.status} show={(v) => (v ? <StatusBadge status={v} /> : '–')} />
              </td>
              <td>
                <Both pair={s.model} show={(v) => v ?? '–'} />
              </td>
              <td>
                <Both pair={s.template} show={(v) => (v ? `${v.name}@${v.version}` : '–')} />
              </td>
              <td>
                <Both pair={s.score} show={(v) => (v === null ? '–' : formatScore(v))} />
              </td>
              <td>
                <Both pair={s.iterations} show={(v) => String(v)} />
              </td>
              <td>
                <Both pair={s.usage} show={(v) => (v ? String(total(v)) : '–')} />
              </td>
              <td>
                <Both pair={s.cost} show={(v) => formatCost(v)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {open && <StepChanges step={diff.steps.find((s) => s.id === open)!} />}
    </>
  );
}

/** One value when both runs agree, else A → B. */
function Both<T>({ pair, show }: { pair: Pair<T>; show(v: T): ReactNode }) {
  if (JSON.stringify(pair.a) === JSON.stringify(pair.b)) return <>{show(pair.a)}</>;
  return (
    <>
      {show(pair.a)} <span aria-label="then">→</span> {show(pair.b)}
    </>
  );
}

/** A step's prompt and output as unified diffs, its JSON output's changes by path, and its errors. */
function StepChanges({ step }: { step: StepDiff }) {
  return (
    <section className="card step-diff" aria-labelledby="step-diff-title">
      <h2 id="step-diff-title">
        Step <code>{step.id}</code>: {step.change}
      </h2>
      {(step.error.a || step.error.b) && (
        <dl className="facts">
          {(['a', 'b'] as const).map((side) => {
            const error = step.error[side];
            return error ? (
              <div key={side} className="contents">
                <dt>Error in {side.toUpperCase()}</dt>
                <dd>
                  {error.message} <code>({error.code})</code>
                </dd>
              </div>
            ) : null;
          })}
        </dl>
      )}
      <h3>Prompt</h3>
      <Patch patch={step.prompt.patch} equal={step.prompt.equal} label={`Prompt diff of ${step.id}`} />
      <h3>Output</h3>
      {step.structured && step.structured.length > 0 ? (
        <ul className="json-changes" aria-label={`Output changes of ${step.id}`}>
          {step.structured.map((c, i) => (
            <li key={i}>
              <code>{c.path.length ? c.path.join('.') : '(the whole value)'}</code> {c.type}
              {c.type !== 'added' && (
                <>
                  {' '}
                  from <code>{JSON.stringify(c.before)}</code>
                </>
              )}
              {c.type !== 'removed' && (
                <>
                  {' '}
                  to <code>{JSON.stringify(c.after)}</code>
                </>
              )}
            </li>
          ))}
        </ul>
      ) : (
        <Patch patch={step.output.patch} equal={step.output.equal} label={`Output diff of ${step.id}`} />
      )}
    </section>
  );
}

/** A unified diff, its lines marked added or removed. */
function Patch({ patch, equal, label }: { patch: string; equal: boolean; label: string }) {
  if (equal) return <p className="muted">The same in both runs.</p>;
  const lines = patch.replace(/\n$/, '').split('\n').filter((l) => !l.startsWith('===') && !l.startsWith('Index:') && l !== '\\ No newline at end of file');
  return (
    <pre className="patch" aria-label={label}>
      {lines.map((l, i) => {
        const kind = l.startsWith('+++') || l.startsWith('---') ? 'file' : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'added' : l.startsWith('-') ? 'removed' : undefined;
        return (
          <span key={i} className={kind ?? 'context'}>
            {kind === 'added' && <span className="sr-only">added: </span>}
            {kind === 'removed' && <span className="sr-only">removed: </span>}
            {l || ' '}
          </span>
        );
      })}
    </pre>
  );
}

function RunLink({ id }: { id: string }) {
  return (
    <Link to={`/runs/${encodeURIComponent(id)}`}>
      <code>{id}</code>
    </Link>
  );
}

function total(u: TokenUsage): number {
  return u.inputTokens + u.outputTokens;
}

function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0';
}
