import { memo } from 'react';
import type { StepView } from '@trellis/contracts';
import { elapsed, formatDuration } from '../ui/format';

/**
 * The steps on a time axis (a Gantt chart): each bar from dispatch to the end (or to now while it
 * runs), in the order the steps started; steps that never ran are listed last, without a bar.
 * Each row's name is a button that opens the step, so the list doubles as keyboard access to
 * every step of a large run.
 */
export const RunTimeline = memo(function RunTimeline({ steps, runStart, runEnd, selected, onSelect, now }: { steps: StepView[]; runStart: string; runEnd: string | null; selected: string | null; onSelect(id: string): void; now: number }) {
  const t0 = Date.parse(runStart);
  const t1 = runEnd ? Date.parse(runEnd) : now;
  const span = Math.max(1, t1 - t0);
  const start = (s: StepView) => s.dispatchedAt ?? s.startedAt;
  const ordered = [...steps].sort((a, b) => {
    const sa = start(a);
    const sb = start(b);
    if (sa && sb) return Date.parse(sa) - Date.parse(sb);
    return sa ? -1 : sb ? 1 : 0;
  });
  return (
    <div className="timeline" role="region" aria-label="Timeline of the steps">
      <div className="timeline-axis" aria-hidden="true">
        <span>0</span>
        <span>{formatDuration(span / 2)}</span>
        <span>{formatDuration(span)}</span>
      </div>
      <ol className="timeline-rows">
        {ordered.map((s) => {
          const from = start(s);
          const left = from ? ((Date.parse(from) - t0) / span) * 100 : 0;
          const width = from ? ((elapsed(from, s.finishedAt, t1) ?? 0) / span) * 100 : 0;
          return (
            <li key={s.id} className={s.id === selected ? 'selected' : undefined}>
              <button type="button" className="link timeline-name" onClick={() => onSelect(s.id)} aria-pressed={s.id === selected} title={s.id}>
                {s.id}
              </button>
              <span className="timeline-track">
                {from && (
                  <span
                    className={`timeline-bar bar-${s.status}`}
                    style={{ left: `${Math.max(0, Math.min(100, left))}%`, width: `${Math.max(0.4, Math.min(100 - left, width))}%` }}
                    title={`${s.id}: ${s.status}, ${formatDuration(elapsed(from, s.finishedAt, t1))}`}
                  />
                )}
              </span>
              <span className="timeline-time">
                {s.status} {from ? formatDuration(elapsed(from, s.finishedAt, t1)) : ''}
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
});
