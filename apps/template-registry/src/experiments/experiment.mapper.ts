import type { ExperimentSummary, ExperimentView } from '@trellis/contracts';
import { levelOf } from '../templates/template.mapper';
import { comparisons, toVariantView, variantResults, winner, type VariantAggregate } from './experiment-results';
import type { ExperimentRow } from './experiment.repository';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toExperimentSummary(e: ExperimentRow): ExperimentSummary {
  return {
    id: e.id,
    kind: e.kind,
    template: e.kind === 'template' ? e.name : null,
    pipeline: e.pipeline,
    level: levelOf(e),
    project: e.project,
    feature: e.feature,
    description: e.description,
    status: e.status,
    variants: e.variants.map(toVariantView),
    promoted: e.promoted,
    createdAt: new Date(e.created_at).toISOString(),
    startedAt: iso(e.started_at),
    stoppedAt: iso(e.stopped_at),
  };
}

export function toExperimentView(e: ExperimentRow, aggregates: ReadonlyMap<string, VariantAggregate>): ExperimentView {
  const results = variantResults(e.variants, aggregates);
  return { ...toExperimentSummary(e), results, comparisons: comparisons(results), winner: winner(results) };
}
