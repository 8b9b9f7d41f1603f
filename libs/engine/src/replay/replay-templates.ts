import type { Issue, ResolvedTemplate } from '@trellis/contracts';
import { templateNeeds, type TemplateNeed } from '../orchestration/template-needs';
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
 * The template pins of a replay: the source's, for every reference the replay's pipeline
 * resolves (`templateNeeds`: its template steps', and the orchestration's own — personalities,
 * judge and feedback prompts), except for the templates an override names (looked up again
 * with the override's selector, e.g. `latest` or a version number) and the references the
 * source did not pin (a changed spec, or a run started before the orchestration's prompts were
 * pinned). A looked-up version is kept under the spec's reference, so the steps find it as they
 * find any pin. A replay is no sample of an experiment: its pins name none (the registry hears
 * nothing of it).
 */
export function replayTemplates(
  pipeline: CompiledPipeline,
  sourcePins: readonly ResolvedTemplate[],
  overrides: Readonly<Record<string, string>> = {},
): { ok: true; kept: ResolvedTemplate[]; lookups: TemplateLookup[]; needs: TemplateNeed[] } | { ok: false; issues: Issue[] } {
  const needs = templateNeeds(pipeline);
  const byRef = new Map<string, TemplateLookup>();
  for (const need of needs) {
    const selector = getOwn(overrides, need.name) ?? need.selector;
    const entry = byRef.get(need.ref) ?? { ref: need.ref, name: need.name, ...(selector !== undefined ? { selector } : {}), steps: [] };
    for (const stepId of need.steps) if (!entry.steps.includes(stepId)) entry.steps.push(stepId);
    byRef.set(need.ref, entry);
  }
  const resolved = new Set(needs.map((n) => n.name));
  const unknown = Object.keys(overrides).filter((name) => !resolved.has(name));
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
  return { ok: true, kept, lookups, needs };
}

/** The reference a lookup asks the registry for (its override's selector, if any). */
export function askedRef(lookup: Pick<TemplateLookup, 'name' | 'selector'>): string {
  return lookup.selector !== undefined ? `${lookup.name}@${lookup.selector}` : lookup.name;
}

/** The registry's answers to `lookups`, kept under the spec's references; `missing`: the spec's references it did not answer. */
export function pinLookups(lookups: readonly TemplateLookup[], answered: readonly ResolvedTemplate[]): { pins: ResolvedTemplate[]; missing: string[] } {
  const pins: ResolvedTemplate[] = [];
  const missing: string[] = [];
  for (const l of lookups) {
    const found = answered.find((t) => t.ref === askedRef(l));
    if (found) pins.push({ ...found, ref: l.ref, experiment: null });
    else missing.push(l.ref);
  }
  return { pins, missing };
}
