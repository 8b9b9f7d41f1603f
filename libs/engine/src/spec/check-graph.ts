import type { Issue } from '@trellis/contracts';
import { findCycles } from '../graph/cycles';
import type { DependencyGraph } from '../graph/topology';
import { didYouMean } from '../util/suggest';
import type { SourceLocator } from './parse-source';
import type { SpecOutline } from './spec-outline';

/**
 * Builds the dependency graph and reports what is wrong with it: a `depends_on` entry that
 * names no step, and every cycle, each naming all of its steps in order. The graph holds
 * only known targets, once each, in the order they were written.
 */
export function checkGraph(outline: SpecOutline, locator: SourceLocator): { graph: DependencyGraph; issues: Issue[] } {
  const ids = outline.steps.map((s) => s.id);
  const known = new Set(ids);
  const graph = new Map<string, string[]>();
  const issues: Issue[] = [];

  for (const step of outline.steps) {
    const deps: string[] = [];
    for (const { target, index } of step.dependsOn) {
      if (!known.has(target)) {
        const path = ['steps', step.id, 'depends_on', index];
        issues.push({ path, message: `unknown step "${target}" in depends_on${didYouMean(target, ids)}`, ...locator.locate(path) });
      } else if (!deps.includes(target)) {
        deps.push(target);
      }
    }
    graph.set(step.id, deps);
  }

  const entryIndex = (from: string, to: string) =>
    outline.steps.find((s) => s.id === from)?.dependsOn.find((d) => d.target === to)?.index ?? 0;
  const { cycles, truncated } = findCycles(graph);
  for (const cycle of cycles) {
    const [first = '', second = first] = cycle;
    const path = ['steps', first, 'depends_on', entryIndex(first, second)];
    const message =
      cycle.length === 1
        ? `cycle: ${first} → ${first} (a step cannot depend on itself)`
        : `cycle: ${[...cycle, first].join(' → ')} (each step depends on the next)`;
    issues.push({ path, message, ...locator.locate(path) });
  }
  for (const component of truncated) {
    const path = ['steps', component[0] ?? ''];
    issues.push({
      path,
      message: `more cycles than listed among: ${component.join(', ')}; these steps all depend on each other`,
      ...locator.locate(path, 'key'),
    });
  }
  return { graph, issues };
}
