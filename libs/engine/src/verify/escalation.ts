import type { ModelInfo } from '../spec/compiled-pipeline';

/**
 * The model of an escalation round: the candidate just before `current` in the step's
 * expert list (lists are best first); failing that, the catalog's next tier above
 * `current` (the lowest tier that is higher, then the cheapest, then by name). Undefined
 * when nothing stronger is known, and the loop then ends without escalating.
 */
export function nextStrongerModel(current: string, candidates: readonly string[] = [], catalog: Readonly<Record<string, ModelInfo>> = {}): string | undefined {
  const index = candidates.indexOf(current);
  if (index > 0) return candidates[index - 1];
  const tier = Object.prototype.hasOwnProperty.call(catalog, current) ? catalog[current]?.tier : undefined;
  if (tier === undefined) return undefined;
  const price = (m: ModelInfo) => (m.inputPrice ?? Infinity) + (m.outputPrice ?? Infinity);
  const stronger = Object.entries(catalog)
    .filter(([name, info]) => name !== current && info.tier !== undefined && info.tier > tier)
    .sort(([a, x], [b, y]) => x.tier! - y.tier! || price(x) - price(y) || a.localeCompare(b));
  return stronger[0]?.[0];
}
