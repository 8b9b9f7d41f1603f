import type { ExperimentSummary, VariantView } from '@trellis/contracts';
import { Link } from 'react-router';

/** What an experiment varies: its template (with the feature whose override it tests), or its pipeline. */
export function ExperimentTarget({ experiment: e }: { experiment: Pick<ExperimentSummary, 'template' | 'pipeline' | 'feature' | 'kind'> }) {
  if (e.template !== null) {
    return <Link to={`/templates/${encodeURIComponent(e.template)}${e.feature ? `?feature=${encodeURIComponent(e.feature)}` : ''}`}>{e.template}</Link>;
  }
  return (
    <>
      <Link to={`/pipelines/${encodeURIComponent(e.pipeline ?? '')}`}>{e.pipeline}</Link> <span className="muted">({e.kind})</span>
    </>
  );
}

/** What a variant sets: a version, a selection mode, or iteration-policy fields. */
export function variantSetting(v: VariantView): string {
  if (v.version !== undefined) return `v${v.version}`;
  if (v.selection !== undefined) return v.selection;
  return Object.entries(v.policy ?? {})
    .map(([k, value]) => `${k} ${value}`)
    .join(', ');
}
