import { VERIFY_DEFAULTS, type IterateSpec, type VerifyDefaults, type VerifyPolicy } from '@trellis/contracts';

/**
 * The iteration policy of one step: each field from the step's `verify.iterate` (or its
 * `escalate`), else the pipeline's `defaults.verify`, else {@link VERIFY_DEFAULTS}.
 */
export function resolveVerifyPolicy(step: { iterate?: IterateSpec; escalate?: boolean | undefined }, pipeline: VerifyDefaults = {}): VerifyPolicy {
  const pick = <K extends keyof typeof VERIFY_DEFAULTS & keyof IterateSpec>(key: K): number =>
    step.iterate?.[key] ?? pipeline.iterate?.[key] ?? VERIFY_DEFAULTS[key];
  return {
    maxIterations: pick('max'),
    improvementThreshold: pick('improvement_threshold'),
    acceptAt: pick('accept_at'),
    categoryMin: pick('category_min'),
    escalate: step.escalate ?? pipeline.escalate ?? VERIFY_DEFAULTS.escalate,
  };
}

