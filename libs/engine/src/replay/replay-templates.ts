import type { Issue, ResolvedTemplate } from '@trellis/contracts';
import type { CompiledPipeline } from '../spec/compiled-pipeline';
import { getOwn } from '../util/records';

/** A template reference the registry must answer for a replay, and the reference the run keeps it under. */
export interface TemplateLookup {
  /** The reference as the spec writes it: the step's pin is looked up by it. */
  ref: string;
  name: string;
  selector?: string;
  steps: string[];
}

/**
 * The template pins of a replay: the source's, except for the templates an override names
 * (looked up again with the override's selector, e.g. `latest` or a version number) and the
 * references the source did not pin (a changed spec). A looked-up version is kept under the
 * spec's reference, so the steps find it as they find any pin. A replay is no sample of an
 * experiment: its pins name none (the registry hears nothing of it).
 */
export function replayTemplates(
  pipeline: CompiledPipeline,
  sourcePins: readonly ResolvedTemplate[],
  overrides: Readonly<Record<string, string>> = {},
): { ok: true; kept: ResolvedTemplate[]; lookups: TemplateLookup[] } | { ok: false; issues: Issue[] } {
  const byRef = new Map<string, TemplateLookup>();
  for (const stepId of pipeline.order) {
    const template = pipeline.steps[stepId]!.template;
    if (!template) continue;
    const ref = template.selector ? `${template.name}@${template.selector}` : template.name;
    const override = getOwn(overrides, template.name);
    const selector = override ?? template.selector;
    const entry = byRef.get(ref) ?? { ref, name: template.name, ...(selector !== undefined ? { selector } : {}), steps: [] };
    entry.steps.push(stepId);
    byRef.set(ref, entry);
  }
  const rendered = new Set([...byRef.values()].map((l) => l.name));
  const unknown = Object.keys(overrides).filter((name) => !rendered.has(name));
  if (unknown.length) {
    return { ok: false, issues: unknown.map((name) => ({ path: ['overrides', 'templates', name], message: `no step of the pipeline renders template "${name}"` })) };
  }
  const kept: ResolvedTemplate[] = [];
  const lookups: TemplateLookup[] = [];
  for (const lookup of byRef.values()) {
    const pinned = getOwn(overrides, lookup.name) === undefined ? sourcePins.find((t) => t.ref === lookup.ref) : undefined;
    if (pinned) kept.push({ ...pinned, experiment: null });
    else lookups.push(lookup);
  }
  return { ok: true, kept, lookups };
}

/** The registry's answers to `lookups`, kept under the spec's references. */
export function pinLookups(lookups: readonly TemplateLookup[], answered: readonly ResolvedTemplate[]): ResolvedTemplate[] {
  return lookups.flatMap((l) => {
    const asked = l.selector !== undefined ? `${l.name}@${l.selector}` : l.name;
    const found = answered.find((t) => t.ref === asked);
    return found ? [{ ...found, ref: l.ref, experiment: null }] : [];
  });
}
