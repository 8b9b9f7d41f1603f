import type { PlanView } from '@trellis/contracts';
import type { CompiledPipeline, ModelInfo } from './compiled-pipeline';

/** Tokens assumed for each upstream output a prompt reads, and for an answer, when estimating cost. */
const READ_TOKENS = 250;
const ANSWER_TOKENS = { min: 50, max: 1000 };

/**
 * The plan a user reviews before spending a token: order, parallel batches, the critical
 * path, each step's model and why, and a cost range when the catalog knows the prices.
 */
export function planView(pipeline: CompiledPipeline, catalog?: Record<string, ModelInfo>): PlanView {
  return {
    order: pipeline.order,
    batches: pipeline.batches,
    criticalPath: pipeline.criticalPath,
    steps: pipeline.order.map((id) => {
      const s = pipeline.steps[id]!;
      return {
        id,
        kind: s.kind,
        dependsOn: s.dependsOn,
        model: s.model,
        modelReason: s.modelReason,
        pool: s.pool,
        routedFrom: s.routedFrom,
        ...(s.condition ? { condition: s.condition.source } : {}),
      };
    }),
    estimatedCost: catalog ? estimateCost(pipeline, catalog) : null,
  };
}

/**
 * A rough range: input ≈ the prompt's characters / 4 plus a fixed allowance per upstream
 * output read; output between a short answer and `max_tokens` (or 1,000). Routed and
 * conditional steps count as not running for the minimum and running for the maximum.
 */
function estimateCost(pipeline: CompiledPipeline, catalog: Record<string, ModelInfo>): { min: number; max: number } | null {
  let min = 0;
  let max = 0;
  for (const step of Object.values(pipeline.steps)) {
    if (step.kind === 'tool') continue;
    const info = Object.prototype.hasOwnProperty.call(catalog, step.model) ? catalog[step.model] : undefined;
    if (info?.inputPrice === undefined || info.outputPrice === undefined) return null;
    const input = Math.ceil(((step.system ?? '').length + step.prompt.length) / 4) + READ_TOKENS * step.dependsOn.length;
    const cost = (outputTokens: number) => (input * info.inputPrice! + outputTokens * info.outputPrice!) / 1_000_000;
    const optional = step.condition !== undefined || step.routedFrom.length > 0;
    if (!optional) min += cost(ANSWER_TOKENS.min);
    max += cost(step.params.maxTokens ?? ANSWER_TOKENS.max) * (step.verify ? 3 : 1);
  }
  return { min: round(min), max: round(max) };
}

const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
