import type { Violation } from '@trellis/contracts';
import { fmt, type Acceptance } from './acceptance';
import type { GateResult } from './gates';

const SEVERITY_ORDER: Record<Violation['severity'], number> = { critical: 0, major: 1, minor: 2 };
/** Enough for a model to act on; more would crowd the prompt it goes into. */
const MAX_VIOLATIONS = 20;
const MAX_JUDGE_FEEDBACK_CHARS = 4_000;

/**
 * The feedback for round n+1, from round n's result: the score against the bar, the
 * violations (most severe first), the categories under their minimum, and the judges' own
 * feedback. It goes into the next prompt as is, so it speaks to the model.
 */
export function buildFeedback(args: {
  iteration: number;
  result: GateResult;
  acceptance: Acceptance;
  acceptAt: number;
  categoryMin: number;
  judgeFeedback: readonly string[];
}): string {
  const { iteration, result, acceptance, judgeFeedback } = args;
  const lines = [`Your previous answer (round ${iteration}) scored ${fmt(result.score)}; an answer needs at least ${fmt(args.acceptAt)}. Revise it and fix the following.`];
  const violations = [...result.violations].sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  if (violations.length > 0) {
    lines.push('Problems:');
    for (const v of violations.slice(0, MAX_VIOLATIONS)) lines.push(`- [${v.severity}] ${v.rule}: ${v.message}`);
    if (violations.length > MAX_VIOLATIONS) lines.push(`- … and ${violations.length - MAX_VIOLATIONS} more`);
  }
  if (acceptance.weakCategories.length > 0) {
    lines.push(`Scores below the minimum of ${fmt(args.categoryMin)}: ${acceptance.weakCategories.map((c) => `${c.name} ${fmt(c.score)}`).join(', ')}.`);
  }
  const reviews = judgeFeedback.map((f) => f.trim()).filter(Boolean);
  if (reviews.length > 0) {
    lines.push('Reviewer feedback:');
    for (const f of reviews) lines.push(f.length > MAX_JUDGE_FEEDBACK_CHARS ? `${f.slice(0, MAX_JUDGE_FEEDBACK_CHARS)}…` : f);
  }
  return lines.join('\n');
}
