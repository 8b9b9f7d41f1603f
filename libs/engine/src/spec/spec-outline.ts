import { isPlainObject } from '../util/records';

/** One `depends_on` entry that names a step, with its index in the list (for positions). */
export interface DependencyRef {
  target: string;
  index: number;
}

export interface StepOutline {
  id: string;
  dependsOn: DependencyRef[];
  /** on_false / on_success / on_failure targets that are strings. */
  routes: string[];
  templates: TemplateText[];
  regexGates: Array<{ index: number; pattern: string }>;
}

/** One Liquid text of a step: where it is (under `steps.<id>`), how to name it, and the text. */
export interface TemplateText {
  path: Array<string | number>;
  /** `prompt`, `system`, or `with.<key>…` for a leaf of a tool's or template's arguments. */
  field: string;
  text: string;
}

/**
 * Every Liquid text a step renders at run time, in one place: the compiler checks their
 * references, and the compiled pipeline derives from them which upstream outputs each step's
 * job carries. `prompt` and `system`, and every string leaf of `with:` (a tool's arguments,
 * a registry template's variables), which executors render against the step's context.
 */
export function templateTexts(step: Readonly<Record<string, unknown>>): TemplateText[] {
  const texts: TemplateText[] = [];
  for (const field of ['prompt', 'system'] as const) {
    const text = step[field];
    if (typeof text === 'string') texts.push({ path: [field], field, text });
  }
  const leaves = (value: unknown, path: Array<string | number>): void => {
    if (typeof value === 'string') texts.push({ path, field: path.join('.'), text: value });
    else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, [...path, i]));
    else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) leaves(v, [...path, k]);
  };
  if (isPlainObject(step.with)) leaves(step.with, ['with']);
  return texts;
}

export interface InputOutline {
  name: string;
  type: unknown;
  hasDefault: boolean;
  default: unknown;
}

/**
 * The parts of a spec the cross-field checks need (graph, templates, inputs, gates), read
 * leniently from the raw data: they run even when the schema found problems elsewhere, so
 * the author sees every issue in one compile. A value of the wrong shape is skipped here;
 * the schema already reports it.
 */
export interface SpecOutline {
  inputs: InputOutline[];
  steps: StepOutline[];
}

export function outlineOf(data: unknown): SpecOutline {
  const root = isPlainObject(data) ? data : {};
  const inputs = isPlainObject(root.inputs) ? root.inputs : {};
  const steps = isPlainObject(root.steps) ? root.steps : {};
  return {
    inputs: Object.entries(inputs).map(([name, raw]) => {
      const input = isPlainObject(raw) ? raw : {};
      const hasDefault = Object.prototype.hasOwnProperty.call(input, 'default');
      return { name, type: input.type ?? 'string', hasDefault, default: input.default };
    }),
    steps: Object.entries(steps).map(([id, raw]) => stepOutline(id, isPlainObject(raw) ? raw : {})),
  };
}

function stepOutline(id: string, step: Record<string, unknown>): StepOutline {
  const dependsOn: DependencyRef[] = [];
  if (Array.isArray(step.depends_on)) {
    step.depends_on.forEach((target: unknown, index) => {
      if (typeof target === 'string') dependsOn.push({ target, index });
    });
  }
  const templates = templateTexts(step);
  const regexGates: StepOutline['regexGates'] = [];
  const verify = isPlainObject(step.verify) ? step.verify : {};
  if (Array.isArray(verify.gates)) {
    verify.gates.forEach((gate: unknown, index) => {
      if (isPlainObject(gate) && typeof gate.regex === 'string') regexGates.push({ index, pattern: gate.regex });
    });
  }
  const routes = ['on_false', 'on_success', 'on_failure'].map((f) => step[f]).filter((t): t is string => typeof t === 'string');
  return { id, dependsOn, routes, templates, regexGates };
}
