import { VERIFY_DEFAULTS, type PipelineSpec, type StrategyVariant } from '@trellis/contracts';

/**
 * A strategy variant as a change of the spec (ADR 0012): what a run in a strategy experiment
 * runs, and — the same change — what promoting the variant registers as the pipeline's new
 * version. One definition, so a promoted variant behaves exactly as it did in the experiment.
 *
 * - `selection`: the pipeline's selection mode becomes the variant's everywhere: `selection`
 *   is set, and `defaults.selection` and every step's own `selection` are removed.
 * - `policy`: the variant's `iterate` fields are set on every gated step and in
 *   `defaults.verify.iterate` (a step's `reuse` stays).
 * A `pipeline` variant picks another registered version instead; its spec is that version's.
 */
export function applyStrategy(spec: PipelineSpec, variant: Exclude<StrategyVariant, { kind: 'pipeline' }>): PipelineSpec {
  const steps: PipelineSpec['steps'] = {};
  const set = (id: string, step: PipelineSpec['steps'][string]) => Object.defineProperty(steps, id, { value: step, enumerable: true, writable: true, configurable: true });
  if (variant.kind === 'selection') {
    for (const [id, { selection: _own, ...step }] of Object.entries(spec.steps)) set(id, step);
    const { selection: _default, ...defaults } = spec.defaults;
    return { ...spec, selection: variant.selection, defaults, steps };
  }
  const policy = Object.fromEntries(Object.entries(variant.policy).filter(([, v]) => v !== undefined));
  for (const [id, step] of Object.entries(spec.steps)) {
    if (!step.verify) {
      set(id, step);
      continue;
    }
    const iterate = { ...step.verify.iterate, ...policy };
    set(id, { ...step, verify: { ...step.verify, iterate, accept_at: iterate.accept_at ?? VERIFY_DEFAULTS.accept_at } });
  }
  const verify = spec.defaults.verify ?? {};
  return { ...spec, defaults: { ...spec.defaults, verify: { ...verify, iterate: { ...verify.iterate, ...policy } } }, steps };
}
