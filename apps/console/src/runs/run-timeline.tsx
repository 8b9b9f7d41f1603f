import { memo, useMemo, type CSSProperties } from 'react';
import type { StepView } from '@trellis/contracts';
import { elapsed, formatDuration } from '../ui/format';

/** A custom property's value in a React style object. */
const vars = (values: Record<string, number>) => Object.fromEntries(Object.entries(values).map(([k, v]) => [`--${k}`, v])) as CSSProperties;

/**
 * The steps on a time axis (a Gantt chart): each bar from dispatch to the end (or to now while it
 * runs), in the order the steps started; steps that never ran are listed last, without a bar.
 * Each row's name is a button that opens the step, so the list doubles as keyboard access to
 * every step of a large run. The axis is two CSS variables (`--span`, `--now`): the clock moves
 * the bars without re-rendering a single row; a row renders again only when its step changes.
 */
export const RunTimeline = memo(function RunTimeline({ steps, runStart, runEnd, selected, onSelect, now }: { steps: StepView[]; runStart: string; runEnd: string | null; selected: string | null; onSelect(id: string): void; now: number }) {
  const t0 = Date.parse(runStart);
  const span = Math.max(1, (runEnd ? Date.parse(runEnd) : now) - t0);
  const ordered = useMemo(() => {
    const start = (s: StepView) => (s.dispatchedAt ?? s.startedAt ? Date.parse((s.dispatchedAt ?? s.startedAt)!) : Infinity);
    return [...steps].sort((a, b) => start(a) - start(b));
  }, [steps]);
  return (
    <div className="timeline" role="region" aria-label="Timeline of the steps" style={vars({ span, now: span })}>
      <div className="timeline-axis" aria-hidden="true">
        <span>0</span>
        <span>{formatDuration(span / 2)}</span>
        <span>{formatDuration(span)}</span>
      </div>
      <ol className="timeline-rows">
        {ordered.map((s) => (
          <TimelineRow key={s.id} step={s} t0={t0} selected={s.id === selected} onSelect={onSelect} />
        ))}
      </ol>
    </div>
  );
});

const TimelineRow = memo(function TimelineRow({ step: s, t0, selected, onSelect }: { step: StepView; t0: number; selected: boolean; onSelect(id: string): void }) {
  const from = s.dispatchedAt ?? s.startedAt;
  const bar = from ? { start: Date.parse(from) - t0, ...(s.finishedAt ? { end: Date.parse(s.finishedAt) - t0 } : {}) } : null;
  const took = from && s.finishedAt ? formatDuration(elapsed(from, s.finishedAt)) : '';
  return (
    <li className={selected ? 'selected' : undefined}>
      <button type="button" className="link timeline-name" onClick={() => onSelect(s.id)} aria-pressed={selected} title={s.id}>
        {s.id}
      </button>
      <span className="timeline-track">{bar && <span className={`timeline-bar bar-${s.status}`} style={vars(bar)} title={`${s.id}: ${s.status}${took ? `, ${took}` : ''}`} />}</span>
      <span className="timeline-time">
        {s.status} {took}
      </span>
    </li>
  );
});
