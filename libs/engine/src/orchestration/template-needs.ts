import type { Issue, ResolvedTemplate, TemplateCategory } from '@trellis/contracts';
import type { CompiledPipeline } from '../spec/compiled-pipeline';

/**
 * What a run needs of the template registry, and what it must get back (ADR 0012): the
 * templates its template steps render (`prompt`), and the orchestration's own — each model
 * step's registry personality, each gated step's judge and feedback prompts. The planner asks
 * for all of them in one request at run start and pins the answers on the run.
 */
export type TemplateRole = 'prompt' | 'personality' | 'judge' | 'feedback' | 'analysis';

/** One reference a run resolves, the role it plays and the steps that use it. */
export interface TemplateNeed {
  /** As the spec wrote it: `name` or `name@selector`. */
  ref: string;
  name: string;
  selector?: string;
  role: TemplateRole;
  steps: string[];
}

/** The category each role's template must have; a template step may render any. */
const ROLE_CATEGORY: Record<Exclude<TemplateRole, 'prompt'>, TemplateCategory> = {
  personality: 'personality',
  judge: 'judge',
  feedback: 'orchestration',
  analysis: 'orchestration',
};

/**
 * The variables each orchestration template may read (`{{ inputs.<name> }}`); the values come
 * from `judgeVariables`, `feedbackVariables` and the analysis. A personality reads the run's
 * inputs, so its variables must be inputs of the pipeline.
 */
export const ROLE_VARIABLES = {
  judge: ['rubric', 'categories', 'task', 'candidate', 'iteration'],
  feedback: ['iteration', 'score', 'accept_at', 'category_min', 'violations', 'more_violations', 'weak_categories', 'reviews', 'kept_fields', 'write_fields'],
  analysis: ['spec'],
} as const satisfies Partial<Record<TemplateRole, readonly string[]>>;

/** Which roles a body may be a chat template for: a personality and the feedback are one message each. */
const TEXT_ONLY: ReadonlySet<TemplateRole> = new Set(['personality', 'feedback']);

/** Every registry reference a run of `compiled` resolves, grouped by (reference, role), in step order. */
export function templateNeeds(compiled: CompiledPipeline): TemplateNeed[] {
  const needs = new Map<string, TemplateNeed>();
  const add = (ref: string, role: TemplateRole, stepId: string) => {
    const key = `${role} ${ref}`;
    const need = needs.get(key) ?? { ...splitRef(ref), role, steps: [] };
    if (!need.steps.includes(stepId)) need.steps.push(stepId);
    needs.set(key, need);
  };
  for (const id of compiled.order) {
    const step = compiled.steps[id]!;
    if (step.template) add(step.template.selector ? `${step.template.name}@${step.template.selector}` : step.template.name, 'prompt', id);
    if (step.personality) add(step.personality, 'personality', id);
    if (step.verify?.judgeTemplate) add(step.verify.judgeTemplate, 'judge', id);
    if (step.verify) add(step.verify.feedbackTemplate, 'feedback', id);
  }
  return [...needs.values()];
}

/** `name@selector` → its parts. */
export function splitRef(ref: string): { ref: string; name: string; selector?: string } {
  const at = ref.indexOf('@');
  return at < 0 ? { ref, name: ref } : { ref, name: ref.slice(0, at), selector: ref.slice(at + 1) };
}

/**
 * What is wrong with the registry's answer for a run: a reference it did not answer, a
 * template of the wrong category for its role, a chat template where one message is needed,
 * a variable the role does not provide (a template step's `with:` must give every variable its
 * template reads). Each issue points at the spec field that asked for the template.
 */
export function checkPins(compiled: CompiledPipeline, needs: readonly TemplateNeed[], pins: readonly ResolvedTemplate[], missing: readonly string[]): Issue[] {
  const issues: Issue[] = [];
  for (const need of needs) {
    const path = pathOf(compiled, need);
    if (missing.includes(need.ref)) {
      issues.push({ path, message: `no ${need.role === 'prompt' ? '' : `${need.role} `}template "${need.ref}" in the registry` });
      continue;
    }
    const pin = pins.find((t) => t.ref === need.ref);
    if (!pin) continue;
    if (need.role === 'prompt') {
      for (const stepId of need.steps) {
        const given = Object.keys(compiled.steps[stepId]?.template?.with ?? {});
        const absent = pin.variables.filter((v) => !given.includes(v));
        if (absent.length) {
          issues.push({
            path: ['steps', stepId, 'with'],
            message: `template "${pin.ref}" (version ${pin.version}) reads ${absent.map((m) => `inputs.${m}`).join(', ')}, which "with" does not give`,
          });
        }
      }
      continue;
    }
    const problem = roleProblem(need.role, pin, need.role === 'personality' ? Object.keys(compiled.spec.inputs) : undefined);
    if (problem) issues.push({ path, message: problem });
  }
  return issues;
}

/**
 * Why a resolved template cannot play `role`, or undefined: its category, its shape, the
 * variables it reads (`available`, for a personality: the pipeline's inputs).
 */
export function roleProblem(role: Exclude<TemplateRole, 'prompt'>, pin: Pick<ResolvedTemplate, 'ref' | 'version' | 'category' | 'body' | 'variables'>, available?: readonly string[]): string | undefined {
  const what = `${role} template "${pin.ref}" (version ${pin.version})`;
  const category = ROLE_CATEGORY[role];
  if (pin.category !== category) return `${what} is a ${pin.category} template; a ${role} template has the category ${category}`;
  if (TEXT_ONLY.has(role) && typeof pin.body !== 'string') return `${what} is a chat template; a ${role} is one text`;
  const allowed: readonly string[] = available ?? (role === 'personality' ? [] : ROLE_VARIABLES[role]);
  const unknown = pin.variables.filter((v) => !allowed.includes(v));
  if (unknown.length) {
    const offer = role === 'personality' ? "the pipeline's inputs" : allowed.join(', ');
    return `${what} reads ${unknown.map((v) => `inputs.${v}`).join(', ')}; a ${role} template reads only ${offer || 'no variables'}`;
  }
  return undefined;
}

/** The spec field that asked for the template, for an issue. */
function pathOf(compiled: CompiledPipeline, need: TemplateNeed): Array<string | number> {
  const stepId = need.steps[0]!;
  const raw = compiled.spec.steps[stepId];
  switch (need.role) {
    case 'prompt':
      return ['steps', stepId, 'template'];
    case 'personality':
      return raw?.personality !== undefined ? ['steps', stepId, 'personality'] : ['personality'];
    case 'judge':
      if (raw?.verify?.judge) return ['steps', stepId, 'verify', 'judge', 'template'];
      return compiled.spec.defaults.verify?.judge ? ['defaults', 'verify', 'judge', 'template'] : ['steps', stepId, 'verify', 'gates'];
    case 'feedback':
      return ['steps', stepId, 'verify'];
    case 'analysis':
      return ['orchestrator', 'template'];
  }
}
