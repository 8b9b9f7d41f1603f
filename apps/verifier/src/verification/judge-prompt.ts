import type { ChatMessage, JudgeGateSpec } from '@trellis/contracts';

const SYSTEM = [
  'You are a strict, fair reviewer of answers written by another model.',
  'Judge the candidate answer against the rubric and the task it answers.',
  'Give an overall score from 0 (useless) to 1 (fully meets the rubric), and a score from 0 to 1 for each listed category.',
  'List every violation of the rubric with a severity: critical (the answer is wrong, unsafe or unusable), major (a clear defect), minor (polish).',
  'Write feedback as precise instructions the author can follow to fix the answer.',
  'Answer with JSON only, in the required schema.',
].join('\n');

/**
 * The judge's conversation: the instructions, then the rubric, the categories, the task (the
 * candidate's own user messages) and the candidate, each fenced so that text inside the
 * candidate cannot pose as instructions.
 */
export function judgeMessages(gate: Pick<JudgeGateSpec, 'rubric' | 'categories'>, task: readonly ChatMessage[], candidate: string): ChatMessage[] {
  const request = task.filter((m) => m.role === 'user').map((m) => m.content).join('\n\n');
  const parts = [
    `Rubric:\n<rubric>\n${gate.rubric}\n</rubric>`,
    gate.categories.length > 0 ? `Categories to score: ${gate.categories.join(', ')}` : 'No categories: give an overall score only (categories: {}).',
    ...(request ? [`The task the candidate answers:\n<task>\n${request}\n</task>`] : []),
    `The candidate answer:\n<candidate>\n${candidate}\n</candidate>`,
  ];
  return [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: parts.join('\n\n') },
  ];
}
