import { z } from 'zod';

/** The judge's answer (DESIGN §10), checked before anything reads it. */
export const JudgeAnswer = z.object({
  score: z.number().min(0).max(1),
  categories: z.record(z.string(), z.number().min(0).max(1)),
  violations: z.array(
    z.object({
      rule: z.string().min(1),
      severity: z.enum(['critical', 'major', 'minor']),
      message: z.string(),
    }),
  ),
  feedback: z.string(),
});
export type JudgeAnswer = z.infer<typeof JudgeAnswer>;

/** The `response_format` name; a-z, 0-9, `_`, at most 64 characters. */
export const JUDGE_SCHEMA_NAME = 'judge_verdict';

/**
 * The JSON schema the judge must answer with. Every property is required and objects are
 * closed, so it also satisfies OpenAI's strict mode; each declared category is a required
 * property, so a judge cannot skip one.
 */
export function judgeResponseSchema(categories: readonly string[]): Record<string, unknown> {
  const unit = { type: 'number', minimum: 0, maximum: 1 };
  return {
    type: 'object',
    additionalProperties: false,
    required: ['score', 'categories', 'violations', 'feedback'],
    properties: {
      score: { ...unit, description: 'overall quality against the rubric, 0 (useless) to 1 (perfect)' },
      categories: {
        type: 'object',
        additionalProperties: false,
        required: [...categories],
        properties: Object.fromEntries(categories.map((c) => [c, { ...unit, description: `score for ${c}` }])),
      },
      violations: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['rule', 'severity', 'message'],
          properties: {
            rule: { type: 'string', description: 'the rubric rule or category broken' },
            // Least severe first: the order means nothing to a model, but a placeholder answer (the
            // simulator takes an enum's first value) is then a minor note, not a blocking violation.
            severity: { type: 'string', enum: ['minor', 'major', 'critical'] },
            message: { type: 'string', description: 'what is wrong, precisely' },
          },
        },
      },
      feedback: { type: 'string', description: 'what the author must change, as instructions' },
    },
  };
}

/** Why a judge's answer cannot be used; the caller treats it as retryable. */
export type JudgeAnswerProblem = { ok: false; problem: string } | { ok: true; answer: JudgeAnswer };

/** Parses and checks a judge's content: JSON, the answer's shape, and every declared category present. */
export function parseJudgeAnswer(content: string, categories: readonly string[]): JudgeAnswerProblem {
  let raw: unknown;
  try {
    raw = JSON.parse(content);
  } catch (error) {
    return { ok: false, problem: `the judge's answer is not JSON (${(error as Error).message})` };
  }
  const parsed = JudgeAnswer.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, problem: `the judge's answer does not fit the verdict schema: ${issues}` };
  }
  const missing = categories.filter((c) => !Object.prototype.hasOwnProperty.call(parsed.data.categories, c));
  if (missing.length > 0) return { ok: false, problem: `the judge's answer has no score for ${missing.map((c) => `categories.${c}`).join(', ')}` };
  return { ok: true, answer: parsed.data };
}
