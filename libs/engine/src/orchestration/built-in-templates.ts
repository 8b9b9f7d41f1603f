import type { ModelParameters, TemplateBody, TemplateCategory } from '@trellis/contracts';

/**
 * The orchestrator's own prompts as registry templates (ADR 0012). The registry seeds each as
 * a global template at first start (version 1, labelled `production`); from then on a run gets
 * whatever the registry answers for it — a project's or a feature's override, an experiment's
 * variant, a newer global version. The texts here are version 1, and only that: the seed, and
 * what a run or a job that predates the pins (started by an older planner) is given.
 */
export interface BuiltInTemplate {
  name: string;
  category: TemplateCategory;
  body: TemplateBody;
  parameters: ModelParameters;
  /** The version's commit message. */
  message: string;
}

/** The names the orchestration resolves by default. */
export const ORCHESTRATION_TEMPLATES = {
  /** The intention / architecture / alignment prompt (`orchestrator:`). */
  analysis: 'trellis.analysis',
  /** The LLM judge gate's prompt. */
  judge: 'trellis.judge',
  /** The next round's feedback, from a verdict. */
  feedback: 'trellis.feedback',
  /** The pipeline personality when a spec names none. */
  personality: 'standard',
} as const;

const JUDGE_SYSTEM = [
  'You are a strict, fair reviewer of answers written by another model.',
  'Judge the candidate answer against the rubric and the task it answers.',
  'Give an overall score from 0 (useless) to 1 (fully meets the rubric), and a score from 0 to 1 for each listed category.',
  'List every violation of the rubric with a severity: critical (the answer is wrong, unsafe or unusable), major (a clear defect), minor (polish).',
  'Write feedback as precise instructions the author can follow to fix the answer.',
  'Answer with JSON only, in the required schema.',
].join('\n');

// The rubric, the categories, the task and the candidate, each fenced so that text inside the
// candidate cannot pose as instructions. Variable values are never parsed as Liquid.
const JUDGE_USER = [
  'Rubric:\n<rubric>\n{{ inputs.rubric }}\n</rubric>\n\n',
  '{% if inputs.categories.size > 0 %}Categories to score: {{ inputs.categories | join: ", " }}{% else %}No categories: give an overall score only (categories: {}).{% endif %}',
  '{% if inputs.task != "" %}\n\nThe task the candidate answers:\n<task>\n{{ inputs.task }}\n</task>{% endif %}',
  '\n\nThe candidate answer:\n<candidate>\n{{ inputs.candidate }}\n</candidate>',
].join('');

const FEEDBACK = [
  'Your previous answer (round {{ inputs.iteration }}) scored {{ inputs.score }}; an answer needs at least {{ inputs.accept_at }}. Revise it and fix the following.',
  '{% if inputs.violations.size > 0 %}\nProblems:{% for v in inputs.violations %}\n- [{{ v.severity }}] {{ v.rule }}: {{ v.message }}{% endfor %}',
  '{% if inputs.more_violations > 0 %}\n- … and {{ inputs.more_violations }} more{% endif %}{% endif %}',
  '{% if inputs.weak_categories.size > 0 %}\nScores below the minimum of {{ inputs.category_min }}: {% for c in inputs.weak_categories %}{{ c.name }} {{ c.score }}{% unless forloop.last %}, {% endunless %}{% endfor %}.{% endif %}',
  '{% if inputs.reviews.size > 0 %}\nReviewer feedback:{% for r in inputs.reviews %}\n{{ r }}{% endfor %}{% endif %}',
  '{% if inputs.kept_fields.size > 0 %}\nKeep {{ inputs.kept_fields | join: ", " }} as they are: answer with {{ inputs.write_fields | join: ", " }} only.{% endif %}',
].join('');

const ANALYSIS_SYSTEM = `You review LLM pipelines before they run. Given a pipeline spec (YAML-like JSON), answer in JSON:
- "intention": what the pipeline is for, in 3 to 10 sentences of Markdown, written as documentation (no greeting, no "I").
- "architecture": how it works: its control flow, which steps depend on which, where conditions and routes branch, where models, tools and quality gates are used, and what it produces.
- "aligned": true when the architecture serves the intention; false when a step is missing, misplaced, unreachable or works against the intention.
- "feedback": when not aligned, concrete changes that would align it, naming steps; otherwise an empty string.`;

export const BUILT_IN_TEMPLATES: readonly BuiltInTemplate[] = [
  {
    name: ORCHESTRATION_TEMPLATES.analysis,
    category: 'orchestration',
    body: [
      { role: 'system', content: ANALYSIS_SYSTEM },
      { role: 'user', content: '{{ inputs.spec }}' },
    ],
    parameters: { temperature: 0 },
    message: 'built in: the orchestrator model reviews a pipeline (intention, architecture, alignment)',
  },
  {
    name: ORCHESTRATION_TEMPLATES.judge,
    category: 'judge',
    body: [
      { role: 'system', content: JUDGE_SYSTEM },
      { role: 'user', content: JUDGE_USER },
    ],
    parameters: { temperature: 0 },
    message: 'built in: the LLM judge gate',
  },
  {
    name: ORCHESTRATION_TEMPLATES.feedback,
    category: 'orchestration',
    body: FEEDBACK,
    parameters: {},
    message: "built in: the next round's feedback, from the verdict",
  },
  {
    name: ORCHESTRATION_TEMPLATES.personality,
    category: 'personality',
    body: 'You are a careful, precise assistant. Answer the task directly, without preamble.',
    parameters: {},
    message: 'built in: the default personality',
  },
];

/** Version 1 of a built-in template, by name. */
export function builtInTemplate(name: string): BuiltInTemplate | undefined {
  return BUILT_IN_TEMPLATES.find((t) => t.name === name);
}
