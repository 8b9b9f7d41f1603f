/**
 * The two workloads of the bench, each ten model calls per run. Every prompt starts with
 * `<tag> <stepId>:` so the simulator's recorded requests say which run and step they belong
 * to: that is how the bench checks that each step was asked exactly once and measures
 * hand-offs from the simulator's own clock.
 */
export interface Workload {
  /** W1, W2, or W3 (the queue case's). */
  id: 'W1' | 'W2' | 'W3';
  /** The pipeline's name in Trellis. */
  pipeline: string;
  description: string;
  /** Step ids in dependency order. */
  steps: string[];
  dependsOn: Record<string, string[]>;
  /** Liquid-style prompts: `{{ inputs.tag }}` and `{{ steps.<id>.output }}` only. */
  prompts: Record<string, string>;
}

const EXPERTS = ['market', 'pricing', 'engineering', 'design', 'legal', 'supply-chain', 'marketing', 'sustainability'];

function fanOutFanIn(): Workload {
  const experts = EXPERTS.map((_, i) => `expert_${i + 1}`);
  const prompts: Record<string, string> = {
    plan: '{{ inputs.tag }} plan: Write a short plan for a product brief about a solar kettle. Name eight angles.',
  };
  const dependsOn: Record<string, string[]> = { plan: [] };
  experts.forEach((id, i) => {
    prompts[id] = `{{ inputs.tag }} ${id}: As the ${EXPERTS[i]} expert, answer from this plan: {{ steps.plan.output }}`;
    dependsOn[id] = ['plan'];
  });
  prompts.combine = `{{ inputs.tag }} combine: Combine the experts' answers into one brief.\n${experts.map((id) => `{{ steps.${id}.output }}`).join('\n')}`;
  dependsOn.combine = experts;
  return { id: 'W1', pipeline: 'bench-w1-fan-out-fan-in', description: 'plan → 8 parallel experts → combine', steps: ['plan', ...experts, 'combine'], dependsOn, prompts };
}

function chain(length: number): Workload {
  const steps = Array.from({ length }, (_, i) => `step_${i + 1}`);
  const prompts: Record<string, string> = {};
  const dependsOn: Record<string, string[]> = {};
  steps.forEach((id, i) => {
    const previous = steps[i - 1];
    prompts[id] = previous ? `{{ inputs.tag }} ${id}: Continue the story: {{ steps.${previous}.output }}` : `{{ inputs.tag }} ${id}: Begin a story about a solar kettle.`;
    dependsOn[id] = previous ? [previous] : [];
  });
  return { id: 'W2', pipeline: 'bench-w2-chain', description: 'a chain of 10 steps', steps, dependsOn, prompts };
}

export const WORKLOADS: Record<'W1' | 'W2', Workload> = { W1: fanOutFanIn(), W2: chain(10) };

/** The queue case's: one model call per run, so the run's own cost (admission, queue) shows. */
export const QUEUE_WORKLOAD: Workload = {
  id: 'W3',
  pipeline: 'bench-w3-single',
  description: 'one step',
  steps: ['answer'],
  dependsOn: { answer: [] },
  prompts: { answer: '{{ inputs.tag }} answer: Name a use for a solar kettle.' },
};

/** The workload as a Trellis pipeline spec (YAML is JSON's superset: JSON it is). */
export function pipelineSpec(w: Workload): string {
  const steps: Record<string, unknown> = {};
  for (const id of w.steps) {
    steps[id] = { prompt: w.prompts[id], ...(w.dependsOn[id]!.length ? { depends_on: w.dependsOn[id] } : {}) };
  }
  return JSON.stringify({ version: 1, name: w.pipeline, description: w.description, inputs: { tag: { type: 'string', required: true } }, steps }, null, 2);
}

/** What the baseline does instead of the template engine: plain string substitution. */
export function renderPrompt(template: string, tag: string, outputs: Record<string, string>): string {
  return template.replace(/\{\{ (inputs\.tag|steps\.([a-z0-9_]+)\.output) \}\}/g, (_, _all: string, step: string | undefined) => (step ? (outputs[step] ?? '') : tag));
}

/** `<tag> <stepId>:` at the start of a prompt → its run tag and step id. */
export function parsePromptTag(content: string): { tag: string; stepId: string } | undefined {
  const match = /^(\S+) ([a-z0-9_]+):/.exec(content);
  return match ? { tag: match[1]!, stepId: match[2]! } : undefined;
}
