import { z } from 'zod';
import {
  CreatedTemplateVersion,
  CreateExperimentBody,
  CreateTemplateBody,
  ExperimentSummary,
  ExperimentView,
  LabelView,
  ListExperimentsQuery,
  ListTemplatesQuery,
  MoveLabelBody,
  PromoteExperimentBody,
  RenderedTemplate,
  RenderTemplateBody,
  TemplateLookup,
  TemplateQuery,
  TemplateSummary,
} from '@trellis/contracts';
import { ADMIN_TOKEN_HEADER } from './admin-token';

/**
 * OpenAPI entries for the template and experiment routes, in the shape of `openapi/routes.ts`
 * (`RouteDoc`, `SCHEMAS`), to be spread into its tables. Typed structurally here so that this
 * file does not import the document builder (which will import it).
 */
interface Route {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: 'apiKey' | 'admin' | 'none';
  params?: string[];
  headers?: Array<{ name: string; description: string }>;
  query?: z.ZodType;
  body?: { schema: z.ZodType; name: string };
  responses: Record<number, { description: string; schema?: string }>;
}

const ADMIN = [{ name: ADMIN_TOKEN_HEADER, description: 'TRELLIS_ADMIN_TOKEN: needed for protected labels (production), the global level, and starting or promoting experiments' }];

export const TEMPLATE_SCHEMAS: Record<string, { schema: z.ZodType; io: 'input' | 'output' }> = {
  CreateTemplateBody: { schema: CreateTemplateBody, io: 'input' },
  CreatedTemplateVersion: { schema: CreatedTemplateVersion, io: 'output' },
  TemplateList: { schema: z.object({ items: z.array(TemplateSummary) }), io: 'output' },
  TemplateLookup: { schema: TemplateLookup, io: 'output' },
  MoveLabelBody: { schema: MoveLabelBody, io: 'input' },
  LabelView: { schema: LabelView, io: 'output' },
  RenderTemplateBody: { schema: RenderTemplateBody, io: 'input' },
  RenderedTemplate: { schema: RenderedTemplate, io: 'output' },
  CreateExperimentBody: { schema: CreateExperimentBody, io: 'input' },
  ExperimentView: { schema: ExperimentView, io: 'output' },
  ExperimentList: { schema: z.object({ items: z.array(ExperimentSummary) }), io: 'output' },
  PromoteExperimentBody: { schema: PromoteExperimentBody, io: 'input' },
};

export const TEMPLATE_ROUTES: Route[] = [
  {
    method: 'post',
    path: '/v1/templates',
    tag: 'templates',
    summary: 'Create a template version',
    description: 'A new immutable version (201), or the newest one unchanged when body, variables and parameters are equal (200, created: false).',
    auth: 'apiKey',
    headers: ADMIN,
    body: { schema: CreateTemplateBody, name: 'CreateTemplateBody' },
    responses: { 201: { description: 'created', schema: 'CreatedTemplateVersion' }, 200: { description: 'unchanged', schema: 'CreatedTemplateVersion' } },
  },
  { method: 'get', path: '/v1/templates', tag: 'templates', summary: 'List the global templates and the project’s own', auth: 'apiKey', query: ListTemplatesQuery, responses: { 200: { description: 'templates', schema: 'TemplateList' } } },
  {
    method: 'get',
    path: '/v1/templates/{name}',
    tag: 'templates',
    summary: 'Show a template: the level that answers (feature → project → global), why, and its versions and labels',
    auth: 'apiKey',
    params: ['name'],
    query: TemplateQuery,
    responses: { 200: { description: 'the template as the project sees it', schema: 'TemplateLookup' } },
  },
  {
    method: 'put',
    path: '/v1/templates/{name}/labels/{label}',
    tag: 'templates',
    summary: 'Point a label at a version (atomic); protected labels need the admin token',
    auth: 'apiKey',
    params: ['name', 'label'],
    headers: ADMIN,
    body: { schema: MoveLabelBody, name: 'MoveLabelBody' },
    responses: { 200: { description: 'the label and where it pointed before', schema: 'LabelView' } },
  },
  {
    method: 'post',
    path: '/v1/templates/{name}/render',
    tag: 'templates',
    summary: 'Render a template with variables (preview); a missing variable is a 400 naming it',
    auth: 'apiKey',
    params: ['name'],
    body: { schema: RenderTemplateBody, name: 'RenderTemplateBody' },
    responses: { 200: { description: 'the rendered text or messages', schema: 'RenderedTemplate' } },
  },
  {
    method: 'post',
    path: '/v1/experiments',
    tag: 'experiments',
    summary: "Create an A/B experiment: a template's versions, or a pipeline's versions, selection modes or iteration policies",
    auth: 'apiKey',
    headers: ADMIN,
    body: { schema: CreateExperimentBody, name: 'CreateExperimentBody' },
    responses: { 201: { description: 'created', schema: 'ExperimentView' } },
  },
  { method: 'get', path: '/v1/experiments', tag: 'experiments', summary: 'List experiments', auth: 'apiKey', query: ListExperimentsQuery, responses: { 200: { description: 'experiments', schema: 'ExperimentList' } } },
  {
    method: 'get',
    path: '/v1/experiments/{id}',
    tag: 'experiments',
    summary: 'An experiment with per-variant results and significance',
    auth: 'apiKey',
    params: ['id'],
    responses: { 200: { description: 'the experiment', schema: 'ExperimentView' } },
  },
  { method: 'post', path: '/v1/experiments/{id}/start', tag: 'experiments', summary: 'Start a draft experiment', auth: 'apiKey', params: ['id'], headers: ADMIN, responses: { 200: { description: 'running', schema: 'ExperimentView' } } },
  { method: 'post', path: '/v1/experiments/{id}/stop', tag: 'experiments', summary: 'Stop an experiment (final)', auth: 'apiKey', params: ['id'], headers: ADMIN, responses: { 200: { description: 'stopped', schema: 'ExperimentView' } } },
  {
    method: 'post',
    path: '/v1/experiments/{id}/promote',
    tag: 'experiments',
    summary: "Make the winner (or the named variant) the default — a template's production label, or the pipeline's newest version — and stop the experiment",
    auth: 'apiKey',
    params: ['id'],
    headers: ADMIN,
    body: { schema: PromoteExperimentBody, name: 'PromoteExperimentBody' },
    responses: { 200: { description: 'promoted', schema: 'ExperimentView' } },
  },
];
