import type { ChatMessage, JudgeGateSpec, TemplateBody } from '@trellis/contracts';
import { builtInTemplate, ORCHESTRATION_TEMPLATES } from '../orchestration/built-in-templates';
import { renderMessages } from '../render/render-messages';

/**
 * The variables a judge template reads (`{{ inputs.<name> }}`): the gate's rubric and
 * categories, the task (the candidate's own user messages, joined) and the candidate, and the
 * loop's round. docs/verification.md lists them.
 */
export function judgeVariables(gate: Pick<JudgeGateSpec, 'rubric' | 'categories'>, task: readonly ChatMessage[], candidate: string, iteration: number): Record<string, unknown> {
  return {
    rubric: gate.rubric,
    categories: [...gate.categories],
    task: task
      .filter((m) => m.role === 'user')
      .map((m) => m.content)
      .join('\n\n'),
    candidate,
    iteration,
  };
}

/**
 * The judge's conversation: the run's judge template (category `judge`; the built-in
 * `trellis.judge` when the job carries none) rendered with {@link judgeVariables}. Throws
 * `RenderError` when the template cannot be rendered.
 */
export function judgeMessages(variables: Record<string, unknown>, template: TemplateBody = builtInTemplate(ORCHESTRATION_TEMPLATES.judge)!.body): ChatMessage[] {
  return renderMessages(template, variables);
}
