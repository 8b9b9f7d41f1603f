import type { TemplateLevel, TemplateSummary, TemplateVersionView } from '@trellis/contracts';
import type { TemplateHead, TemplateRow, VersionRow } from './template.repository';

export function levelOf(row: Pick<TemplateRow, 'project' | 'feature'>): TemplateLevel {
  return row.feature ? 'feature' : row.project ? 'project' : 'global';
}

export function toSummary(head: TemplateHead): TemplateSummary {
  return {
    name: head.name,
    category: head.category,
    level: levelOf(head),
    project: head.project,
    feature: head.feature,
    latest: head.latest,
    labels: head.labels,
    updatedAt: new Date(head.updated_at).toISOString(),
  };
}

export function toVersionView(v: VersionRow): TemplateVersionView {
  return {
    version: v.version,
    body: v.body,
    variables: v.variables,
    parameters: v.parameters,
    author: v.author,
    message: v.message,
    createdAt: new Date(v.created_at).toISOString(),
  };
}
