import type { TemplateLevel } from '@trellis/contracts';
import { RegistryError } from '../registry.errors';

/** Where a template lives: (null, null) global, (project, null) project, (project, feature) feature. */
export interface Placement {
  level: TemplateLevel;
  project: string | null;
  feature: string | null;
}

/**
 * Where a write goes. The level defaults to `feature` when a feature is named, else
 * `project`; global templates are shared by every project, so only the admin writes them.
 */
export function placementOf(project: string, request: { level?: TemplateLevel | undefined; feature?: string | undefined }): Placement {
  const level = request.level ?? (request.feature ? 'feature' : 'project');
  if (level === 'feature' && !request.feature) {
    throw new RegistryError('invalid_argument', 'the feature level needs a feature', [{ path: ['feature'], message: 'required when level is "feature"' }]);
  }
  if (level !== 'feature' && request.feature) {
    throw new RegistryError('invalid_argument', `a ${level} template has no feature`, [{ path: ['feature'], message: `only with level "feature", not "${level}"` }]);
  }
  if (level === 'global') return { level, project: null, feature: null };
  if (level === 'project') return { level, project, feature: null };
  return { level, project, feature: request.feature! };
}

/** The levels a name resolves at for a project (and feature), most specific first. */
export function resolutionOrder(project: string, feature?: string): Placement[] {
  return [
    ...(feature ? [{ level: 'feature' as const, project, feature }] : []),
    { level: 'project', project, feature: null },
    { level: 'global', project: null, feature: null },
  ];
}

export function describePlacement(p: Placement): string {
  if (p.level === 'global') return 'the global level';
  if (p.level === 'project') return `project "${p.project}"`;
  return `feature "${p.feature}" of project "${p.project}"`;
}

export function requireAdminFor(p: Placement, admin: boolean, what: string): void {
  if (p.level === 'global' && !admin) {
    throw new RegistryError('failed_precondition', `${what} at the global level changes every project: send the admin token`);
  }
}
