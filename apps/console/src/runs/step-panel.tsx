import { useEffect, useRef } from 'react';
import type { IterationView, PlanView, RunView, StepVerified, StepView } from '@trellis/contracts';
import { MessagesView, OutputView } from '../ui/content';
import { elapsed, formatCost, formatDuration, formatScore, formatTime, formatTokens } from '../ui/format';
import { StatusBadge } from '../ui/status';
import type { StepNotes } from './run-live';

type PlanStep = PlanView['steps'][number];
type RunTemplate = RunView['templates'][number];

const REASON_LABEL: Record<string, string> = { skipped: 'Skipped', failed: 'Failed', cancelled: 'Cancelled' };

/**
 * Everything about one step: why it ended as it did, its model and why that one, the template
 * and experiment variant it used, tokens, cost, attempts and errors, every round of its quality
 * gates, the prompt it sent and the answer it got.
 */
export function StepPanel({
  step,
  plan,
  template,
  notes,
  onClose,
  onFork,
}: {
  step: StepView;
  plan: PlanStep | undefined;
  template: RunTemplate | undefined;
  notes: StepNotes | undefined;
  onClose(): void;
  /** Opens the fork form from this step (a finished run's). */
  onFork?: (() => void) | undefined;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [step.id]);
  const final = REASON_LABEL[step.status];
  return (
    <aside className="step-panel card" aria-labelledby="step-title" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <div className="spread">
        <h2 id="step-title" tabIndex={-1} ref={heading}>
          Step <code>{step.id}</code> <StatusBadge status={step.status} />
        </h2>
        <div className="row">
          {onFork && (
            <button type="button" className="secondary" onClick={onFork}>
              Fork from this step
            </button>
          )}
          <button type="button" className="secondary" onClick={onClose}>
            Close
          </button>
        </div>
      </div>

      {final && step.error && (
        <p className={step.status === 'failed' ? 'error-box' : 'notice'} role="note" aria-label="Reason">
          {final}: {step.error.message} <code>({step.error.code})</code>
        </p>
      )}

      <dl className="facts">
        <dt>Model</dt>
        <dd>
          {step.model}
          {plan?.modelReason && <span className="muted"> — {plan.modelReason}</span>}
        </dd>
        {plan && (
          <>
            <dt>Kind</dt>
            <dd>
              {plan.kind}, pool {plan.pool}
              {plan.condition && (
                <>
                  , when <code>{plan.condition}</code>
                </>
              )}
            </dd>
          </>
        )}
        {template && (
          <>
            <dt>Template</dt>
            <dd>
              <code>
                {template.name}@{template.version}
              </code>{' '}
              <span className="muted">
                ({template.label ? `label ${template.label}, ` : ''}
                {template.level})
              </span>
            </dd>
            {template.experiment && (
              <>
                <dt>Experiment</dt>
                <dd>
                  variant <strong>{template.experiment.variant}</strong> of <code>{template.experiment.id}</code>
                </dd>
              </>
            )}
          </>
        )}
        <dt>Attempts</dt>
        <dd>{step.attempt}</dd>
        <dt>Tokens</dt>
        <dd>{formatTokens(step.usage)}</dd>
        <dt>Cost</dt>
        <dd>{formatCost(step.cost)}</dd>
        {step.score !== null && (
          <>
            <dt>Score</dt>
            <dd>{formatScore(step.score)}</dd>
          </>
        )}
        <dt>Dispatched</dt>
        <dd>{formatTime(step.dispatchedAt)}</dd>
        <dt>Finished</dt>
        <dd>
          {formatTime(step.finishedAt)}
          {step.dispatchedAt && step.finishedAt && <span className="muted"> ({formatDuration(elapsed(step.dispatchedAt, step.finishedAt))})</span>}
        </dd>
        {step.executor && (
          <>
            <dt>Executor</dt>
            <dd>
              <code>{step.executor}</code>
            </dd>
          </>
        )}
      </dl>

      {(step.error || (notes?.failures.length ?? 0) > 0) && (
        <section aria-labelledby="step-errors">
          <h3 id="step-errors">Errors</h3>
          <ul className="errors">
            {notes?.failures.map((f, i) => (
              <li key={i}>
                attempt {f.attempt}: <strong>{f.error.code}</strong> {f.error.message}
                {f.error.retryable ? <span className="muted"> (retried)</span> : null}
              </li>
            ))}
            {step.error && (
              <li>
                final: <strong>{step.error.code}</strong> {step.error.message}
              </li>
            )}
          </ul>
        </section>
      )}

      {step.iterations.length > 0 && <Iterations step={step} verdicts={notes?.verdicts ?? []} />}

      <section aria-labelledby="step-prompt">
        <h3 id="step-prompt">Prompt</h3>
        {step.messages?.length ? <MessagesView messages={step.messages} /> : <p className="muted">{noPrompt(step, plan)}</p>}
      </section>
      <section aria-labelledby="step-output">
        <h3 id="step-output">Output</h3>
        <OutputView text={step.output} structured={step.structured} />
      </section>
    </aside>
  );
}

/** The quality loop, round by round; feedback and the kept candidate come from the run's events. */
function Iterations({ step, verdicts }: { step: StepView; verdicts: StepVerified[] }) {
  const byAttempt = new Map(verdicts.map((v) => [v.attempt, v]));
  const keptAttempt = verdicts.at(-1)?.best?.attempt ?? keptByScore(step.iterations, step.bestScore);
  return (
    <section aria-labelledby="step-iterations">
      <h3 id="step-iterations">
        Iterations <span className="muted">({step.iterationsUsed} used{step.stopReason ? `, stopped: ${step.stopReason.replace('_', ' ')}` : ''})</span>
      </h3>
      <table className="grid iterations" aria-label="Iterations">
        <thead>
          <tr>
            <th scope="col">Round</th>
            <th scope="col">Score</th>
            <th scope="col">Verdict</th>
            <th scope="col">Violations and feedback</th>
          </tr>
        </thead>
        <tbody>
          {step.iterations.map((it) => {
            const v = byAttempt.get(it.attempt);
            const kept = it.attempt === keptAttempt;
            return (
              <tr key={it.attempt} className={kept ? 'kept' : undefined}>
                <td>
                  <strong>{it.iteration}</strong> <span className="muted">attempt {it.attempt}</span>
                  <div className="muted">
                    {it.model}
                    {it.escalated && ' (escalated)'}
                  </div>
                  {it.reusedFields.length > 0 && (
                    <div className="muted">
                      kept {it.reusedFields.join(', ')} (~{it.outputTokensSaved} output tokens saved)
                    </div>
                  )}
                </td>
                <td>
                  <strong>{formatScore(it.score)}</strong>
                  {Object.entries(it.categories).map(([name, score]) => (
                    <div key={name} className="muted">
                      {name} {formatScore(score)}
                    </div>
                  ))}
                </td>
                <td>
                  {it.verdict ?? '—'}
                  {it.stop && <div className="muted">{it.stop.replace('_', ' ')}</div>}
                  {kept && <div className="kept-mark">kept</div>}
                </td>
                <td>
                  {it.violations.length === 0 ? (
                    <span className="muted">no violations</span>
                  ) : (
                    <ul className="violations">
                      {it.violations.map((viol, i) => (
                        <li key={i}>
                          <span className={`severity severity-${viol.severity}`}>{viol.severity}</span> <code>{viol.rule}</code> {viol.message}
                        </li>
                      ))}
                    </ul>
                  )}
                  {v?.feedback && (
                    <div className="feedback">
                      <span className="muted">feedback:</span> {v.feedback}
                    </div>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Without the events (past the stream's retention), the kept candidate is the round whose score is the best score. */
function keptByScore(iterations: IterationView[], best: number | null): number | undefined {
  return best === null ? undefined : iterations.find((i) => i.score === best)?.attempt;
}

/** Why a step shows no prompt. */
function noPrompt(step: StepView, plan: PlanStep | undefined): string {
  if (plan?.kind === 'tool') return 'A tool step sends no prompt.';
  if (step.status === 'skipped' || (step.status === 'cancelled' && step.attempt === 0)) return 'None: the step did not run.';
  if (step.status === 'failed' || step.status === 'cancelled') return 'None recorded: the model call did not complete.';
  return 'Not sent yet.';
}
