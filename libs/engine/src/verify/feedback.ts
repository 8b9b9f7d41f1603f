import type { TemplateBody, Violation } from '@trellis/contracts';
import { builtInTemplate, ORCHESTRATION_TEMPLATES } from '../orchestration/built-in-templates';
import { renderText } from '../render/render-messages';
import { fmt, type Acceptance } from './acceptance';
import type { GateResult } from './gates';
import type { ReusePlan } from './reuse';

const SEVERITY_ORDER: Record<Violation['severity'], number> = { critical: 0, major: 1, minor: 2 };
/** Enough for a model to act on; more would crowd the prompt it goes into. */
const MAX_VIOLATIONS = 20;
const MAX_JUDGE_FEEDBACK_CHARS = 4_000;

export interface FeedbackArgs {
  iteration: number;
  result: GateResult;
  acceptance: Acceptance;
  acceptAt: number;
  categoryMin: number;
  judgeFeedback: readonly string[];
  /** The fields the next round keeps (`iterate.reuse`), and those it writes. */
  reuse?: ReusePlan | undefined;
}

/**
 * The variables a feedback template reads (`{{ inputs.<name> }}`): the round, its score and
 * the bar as two-decimal text, the violations most severe first (at most 20, and how many more),
 * the categories under their minimum, the judges' own feedback, and the fields the next round
 * keeps and writes. docs/templates.md lists them.
 */
export function feedbackVariables(args: FeedbackArgs): Record<string, unknown> {
  const violations = [...args.result.violations].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return {
    iteration: args.iteration,
    score: fmt(args.result.score),
    accept_at: fmt(args.acceptAt),
    category_min: fmt(args.categoryMin),
    violations: violations.slice(0, MAX_VIOLATIONS).map((v) => ({ severity: v.severity, rule: v.rule, message: v.message })),
    more_violations: Math.max(0, violations.length - MAX_VIOLATIONS),
    weak_categories: args.acceptance.weakCategories.map((c) => ({ name: c.name, score: fmt(c.score) })),
    reviews: args.judgeFeedback
      .map((f) => f.trim())
      .filter(Boolean)
      .map((f) => (f.length > MAX_JUDGE_FEEDBACK_CHARS ? `${f.slice(0, MAX_JUDGE_FEEDBACK_CHARS)}…` : f)),
    kept_fields: args.reuse?.kept ?? [],
    write_fields: args.reuse?.write ?? [],
  };
}

/**
 * The feedback for round n+1, from round n's result, rendered with the run's feedback
 * template (category `orchestration`; the built-in `trellis.feedback` when the job carries
 * none). It goes into the next prompt as is, so it speaks to the model. Throws `RenderError`
 * when the template cannot be rendered.
 */
export function buildFeedback(args: FeedbackArgs, template: TemplateBody = builtInTemplate(ORCHESTRATION_TEMPLATES.feedback)!.body): string {
  return renderText(template, feedbackVariables(args));
}
