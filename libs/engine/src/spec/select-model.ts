import type { Selection } from '@trellis/contracts';
import type { ModelInfo } from './compiled-pipeline';

export interface ModelChoice {
  model: string;
  reason: string;
}

const price = (m: ModelInfo | undefined) =>
  m?.inputPrice !== undefined && m?.outputPrice !== undefined ? m.inputPrice + m.outputPrice : Number.POSITIVE_INFINITY;
const money = (m: ModelInfo | undefined) =>
  m?.inputPrice !== undefined && m?.outputPrice !== undefined ? `$${m.inputPrice}/$${m.outputPrice} per M tokens` : 'no price';

/** What a model lacks of `needs`; a model the catalog does not know has no known capabilities. */
export function missingCapabilities(info: ModelInfo | undefined, needs: readonly string[]): string[] {
  return needs.filter((n) => !(info?.capabilities ?? []).includes(n));
}

/**
 * Picks an expert's model. Candidates are listed best first; those lacking a needed
 * capability are out. `performance` takes the highest tier (the list order breaks ties),
 * `cost` the cheapest, `balanced` the cheapest within one tier of the best. The reason says
 * which rule chose and on what figures, so a run can show why a step used a model.
 */
export function selectModel(
  kind: string,
  candidates: readonly string[],
  selection: Selection,
  needs: readonly string[],
  catalog: Record<string, ModelInfo> | undefined,
): { ok: true; choice: ModelChoice } | { ok: false; message: string } {
  const info = (m: string) => (catalog ? Object.prototype.hasOwnProperty.call(catalog, m) ? catalog[m] : undefined : undefined);
  const capable = candidates.filter((m) => missingCapabilities(info(m), needs).length === 0 || (!catalog && needs.length === 0));
  if (capable.length === 0) {
    const why = candidates.map((m) => `${m} lacks ${missingCapabilities(info(m), needs).join(', ') || 'a catalog entry'}`).join('; ');
    return { ok: false, message: `no model of expert "${kind}" has ${needs.join(', ')}: ${why}` };
  }
  if (!catalog) return { ok: true, choice: { model: capable[0]!, reason: `${selection}: no model catalog, so the first candidate of expert "${kind}"` } };
  const tier = (m: string) => info(m)?.tier ?? 0;
  const best = Math.max(...capable.map(tier));
  const byCost = (pool: string[]) => pool.reduce((a, b) => (price(info(b)) < price(info(a)) ? b : a));
  let model: string;
  let rule: string;
  switch (selection) {
    case 'performance':
      model = capable.find((m) => tier(m) === best)!;
      rule = `the highest tier (${best})`;
      break;
    case 'cost':
      model = byCost(capable);
      rule = 'the cheapest';
      break;
    case 'balanced':
      model = byCost(capable.filter((m) => tier(m) >= best - 1));
      rule = `the cheapest within one tier of the best (${best})`;
      break;
  }
  return {
    ok: true,
    choice: { model, reason: `${selection}: ${rule} of expert "${kind}" [${capable.join(', ')}]: ${model}, tier ${tier(model)}, ${money(info(model))}` },
  };
}
