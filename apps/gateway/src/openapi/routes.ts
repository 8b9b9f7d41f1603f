import { z } from 'zod';
import {
  ApiKeyView,
  AuditList,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  CreateApiKeyBody,
  CreatedApiKey,
  CreateProjectBody,
  CreateRunBody,
  ListAuditQuery,
  ListRunsQuery,
  ModelList,
  ModelObject,
  OpenAiError,
  PipelineSpec,
  PipelineView,
  PlanView,
  PlannerRpc,
  OverrideAlignmentQuery,
  PipelineQuery,
  Problem,
  ProjectView,
  ProjectBudget,
  ProjectUsage,
  ReplayRunBody,
  RunDiff,
  RunExport,
  RunView,
  UpdateProjectBody,
} from '@trellis/contracts';
import { TEMPLATE_ROUTES, TEMPLATE_SCHEMAS } from '../templates/templates.routes';

/** How a route authenticates: an API key, the admin token, either, or nothing. */
export type RouteAuth = 'apiKey' | 'admin' | 'apiKeyOrAdmin' | 'none';

/** One documented route; the OpenAPI document is built from this table and the zod schemas. */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template, `{param}` style. */
  path: string;
  tag: string;
  summary: string;
  description?: string;
  auth: RouteAuth;
  params?: string[];
  headers?: Array<{ name: string; description: string }>;
  query?: z.ZodType;
  body?: { schema: z.ZodType; name: string; yaml?: boolean };
  /** Success status → schema name registered in SCHEMAS, or a content description. */
  responses: Record<number, { description: string; schema?: string; contentType?: string }>;
  /** Errors in the OpenAI shape rather than problem+json. */
  openAiErrors?: boolean;
}

const ListPipelines = PlannerRpc.listPipelines.response;
const ListRuns = PlannerRpc.listRuns.response;

/** Named schemas of `components.schemas`. */
export const SCHEMAS: Record<string, { schema: z.ZodType; io: 'input' | 'output' }> = {
  Problem: { schema: Problem, io: 'output' },
  OpenAiError: { schema: OpenAiError, io: 'output' },
  PipelineSpec: { schema: PipelineSpec, io: 'input' },
  PipelineView: { schema: PipelineView, io: 'output' },
  PipelineList: { schema: ListPipelines, io: 'output' },
  PlanView: { schema: PlanView, io: 'output' },
  CreateRunBody: { schema: CreateRunBody, io: 'input' },
  RunView: { schema: RunView, io: 'output' },
  RunList: { schema: ListRuns, io: 'output' },
  ReplayRunBody: { schema: ReplayRunBody, io: 'input' },
  RunDiff: { schema: RunDiff, io: 'output' },
  RunExport: { schema: RunExport, io: 'output' },
  RunExportFile: { schema: RunExport, io: 'input' },
  CreateProjectBody: { schema: CreateProjectBody, io: 'input' },
  ProjectView: { schema: ProjectView, io: 'output' },
  UpdateProjectBody: { schema: UpdateProjectBody, io: 'input' },
  ProjectWithUsage: { schema: ProjectView.extend({ usage: ProjectUsage }), io: 'output' },
  Usage: { schema: ProjectUsage.extend({ budget: ProjectBudget, maxRunningRuns: z.number().int(), weight: z.number().int() }), io: 'output' },
  CreateApiKeyBody: { schema: CreateApiKeyBody, io: 'input' },
  CreatedApiKey: { schema: CreatedApiKey, io: 'output' },
  ApiKeyList: { schema: z.object({ items: z.array(ApiKeyView) }), io: 'output' },
  ModelList: { schema: ModelList, io: 'output' },
  ModelObject: { schema: ModelObject, io: 'output' },
  ChatCompletionRequest: { schema: ChatCompletionRequest, io: 'input' },
  ChatCompletion: { schema: ChatCompletion, io: 'output' },
  ChatCompletionChunk: { schema: ChatCompletionChunk, io: 'output' },
  AuditList: { schema: AuditList, io: 'output' },
  Health: { schema: z.object({ status: z.string() }), io: 'output' },
  Readiness: { schema: z.object({ status: z.string(), checks: z.record(z.string(), z.boolean()) }), io: 'output' },
  ...TEMPLATE_SCHEMAS,
};

const RUN_ID = ['id'];
/** The alignment check, the same on registration, validation and inline runs. */
const ALIGNMENT = 'With `orchestrator.check_alignment`, a pipeline whose architecture the orchestrator model finds not to serve its intention is refused (409, with the model\'s feedback) unless `override_alignment=true`.';

export const ROUTES: RouteDoc[] = [
  { method: 'post', path: '/v1/projects', tag: 'projects', summary: 'Create a project', description: 'With `Authorization: Bearer <TRELLIS_ADMIN_TOKEN>`; 404 when the gateway has no admin token.', auth: 'admin', body: { schema: CreateProjectBody, name: 'CreateProjectBody' }, responses: { 201: { description: 'created', schema: 'ProjectView' } } },
  { method: 'get', path: '/v1/projects/{id}', tag: 'projects', summary: "A project's settings and its usage today", auth: 'admin', params: ['id'], responses: { 200: { description: 'the project, with `usage`', schema: 'ProjectWithUsage' } } },
  { method: 'patch', path: '/v1/projects/{id}', tag: 'projects', summary: "Change a project's settings: admission, weight, budgets, recording", description: 'Fields given change; `null` returns one to its default. `maxRunningRuns`: runs running at once (more are queued); `weight`: its share of busy executors (fair dispatch); `maxTokensPerDay`, `maxCostPerDay`: budgets per UTC day; `recording: false` stops recording the calls of its runs started from then on (which then cannot be replayed from their answers).', auth: 'admin', params: ['id'], body: { schema: UpdateProjectBody, name: 'UpdateProjectBody' }, responses: { 200: { description: 'the project', schema: 'ProjectView' } } },
  { method: 'get', path: '/v1/usage', tag: 'projects', summary: "The key's project: usage today (UTC) against its budgets, runs running and queued", auth: 'apiKey', responses: { 200: { description: 'usage', schema: 'Usage' } } },
  { method: 'post', path: '/v1/projects/{id}/keys', tag: 'projects', summary: 'Create an API key of the project', description: 'The answer holds the key: the only time it is shown. Only its SHA-256 is stored.', auth: 'admin', params: ['id'], body: { schema: CreateApiKeyBody, name: 'CreateApiKeyBody' }, responses: { 201: { description: 'created', schema: 'CreatedApiKey' } } },
  { method: 'get', path: '/v1/projects/{id}/keys', tag: 'projects', summary: "List the project's keys (prefixes only)", auth: 'admin', params: ['id'], responses: { 200: { description: 'the keys', schema: 'ApiKeyList' } } },
  { method: 'delete', path: '/v1/projects/{id}/keys/{keyId}', tag: 'projects', summary: 'Revoke a key', auth: 'admin', params: ['id', 'keyId'], responses: { 204: { description: 'revoked' } } },

  { method: 'post', path: '/v1/pipelines', tag: 'pipelines', summary: 'Register a pipeline (YAML or JSON)', description: `The same spec twice keeps its version. A spec with \`orchestrator\` is analysed by that model (intention, architecture). ${ALIGNMENT}`, auth: 'apiKey', query: PipelineQuery, body: { schema: PipelineSpec, name: 'PipelineSpec', yaml: true }, responses: { 201: { description: 'registered', schema: 'PipelineView' } } },
  { method: 'post', path: '/v1/pipelines/validate', tag: 'pipelines', summary: 'Compile only: the plan and its batches, or every error with line and column', description: `Nothing is registered. ${ALIGNMENT}`, auth: 'apiKey', query: PipelineQuery, body: { schema: PipelineSpec, name: 'PipelineSpec', yaml: true }, responses: { 200: { description: 'the plan', schema: 'PlanView' } } },
  { method: 'get', path: '/v1/pipelines', tag: 'pipelines', summary: "The project's pipelines (latest versions)", auth: 'apiKey', responses: { 200: { description: 'the pipelines', schema: 'PipelineList' } } },
  { method: 'get', path: '/v1/pipelines/{name}', tag: 'pipelines', summary: 'A pipeline: spec and plan', auth: 'apiKey', params: ['name'], responses: { 200: { description: 'the pipeline', schema: 'PipelineView' } } },
  { method: 'get', path: '/v1/pipelines/{name}/versions', tag: 'pipelines', summary: "A pipeline's versions, newest first", auth: 'apiKey', params: ['name'], responses: { 200: { description: 'the versions', schema: 'PipelineList' } } },
  { method: 'get', path: '/v1/pipelines/{name}/versions/{version}', tag: 'pipelines', summary: 'One version of a pipeline: spec and plan', auth: 'apiKey', params: ['name', 'version'], responses: { 200: { description: 'the version', schema: 'PipelineView' } } },

  {
    method: 'post', path: '/v1/runs', tag: 'runs', summary: 'Start a run', auth: 'apiKey',
    description: `Of a registered pipeline or an inline spec. Always accepted (202) unless the project's budget for the UTC day is spent (429 \`budget_exhausted\`, \`Retry-After\` = the next day, the problem naming the budget): a run beyond its project's \`maxRunningRuns\` (or its pipeline's \`concurrency\`) running is \`queued\`, with its place and an estimated wait, and starts when a slot frees, by \`priority\` (1–5, default 3), then in order of submission. With \`Idempotency-Key\`, the same body answers the first run (200, \`Idempotent-Replayed: true\`); another body with the key is a 422; the first request still starting is a 409. An inline spec is checked as at registration: ${ALIGNMENT}`,
    headers: [{ name: 'Idempotency-Key', description: 'makes a retry of this request start no second run' }],
    query: OverrideAlignmentQuery,
    body: { schema: CreateRunBody, name: 'CreateRunBody' },
    responses: { 202: { description: 'started', schema: 'RunView' }, 200: { description: 'the run an earlier request with this Idempotency-Key started', schema: 'RunView' } },
  },
  { method: 'get', path: '/v1/runs', tag: 'runs', summary: "The project's runs, newest first", auth: 'apiKey', query: ListRunsQuery, responses: { 200: { description: 'a page of runs', schema: 'RunList' } } },
  { method: 'get', path: '/v1/runs/{id}', tag: 'runs', summary: 'A run: steps, outputs, tokens, products', auth: 'apiKey', params: RUN_ID, responses: { 200: { description: 'the run', schema: 'RunView' } } },
  {
    method: 'get', path: '/v1/runs/{id}/events', tag: 'runs', summary: "The run's events (SSE)", auth: 'apiKey', params: RUN_ID,
    description: 'Server-Sent Events: `id:` the stream sequence, `event:` the CloudEvents type, `data:` the CloudEvent JSON (docs/asyncapi.yaml). From the start, or after `Last-Event-ID`; ends after `dev.trellis.run.completed`; `: keep-alive` comments while idle.',
    headers: [{ name: 'Last-Event-ID', description: 'resume after this stream sequence' }],
    responses: { 200: { description: 'an event stream', contentType: 'text/event-stream' } },
  },
  { method: 'post', path: '/v1/runs/{id}/cancel', tag: 'runs', summary: 'Cancel a running run', auth: 'apiKey', params: RUN_ID, responses: { 200: { description: 'the run', schema: 'RunView' } } },
  { method: 'post', path: '/v1/runs/{id}/resume', tag: 'runs', summary: 'Re-run failed, cancelled and skipped steps', auth: 'apiKey', params: RUN_ID, responses: { 200: { description: 'the run', schema: 'RunView' } } },
  {
    method: 'post', path: '/v1/runs/{id}/replay', tag: 'runs', summary: 'Replay or fork a finished run', auth: 'apiKey', params: RUN_ID,
    description:
      'A new run (the source never changes; its view carries `source: { run, from, mode }`). `mode`: `recorded` answers every model and tool call from the source\'s recording (a request that differs fails its step with `replay_miss` and the difference), `live` calls them again, `recorded_else_live` answers from the recording where the request matches and calls the model where it does not. `from`: the step to fork from: it, the steps downstream of it and those an override reaches run; every other step is carried over (`reused`). `overrides`: `inputs` (merged over the source\'s), `templates` (name → selector), `models` (step → model), `spec` (another version of the pipeline, JSON or YAML text). Without `from` and overrides the whole run is replayed. A replay is a new run of the project: queued while the project has `maxRunningRuns` running (by `priority`, 1–5, default 3), refused with 429 `budget_exhausted` once its budget for the UTC day is spent. See docs/replay.md.',
    body: { schema: ReplayRunBody, name: 'ReplayRunBody' },
    responses: { 202: { description: 'the new run', schema: 'RunView' } },
  },
  {
    method: 'get', path: '/v1/runs/{id}/diff/{other}', tag: 'runs', summary: 'Two runs compared step by step', auth: 'apiKey', params: ['id', 'other'],
    description: 'Per step, side by side: status, model, template version, score, rounds, tokens, cost and time; the conversation sent and the output as unified diffs, and a JSON output\'s structural changes. A step is changed when its status, prompt, output, model, template version, score or rounds differ. `summary`: `identical`, and the `changed`, `added` and `removed` steps; `cost` and `durationMs` with their deltas (other - id).',
    responses: { 200: { description: 'the diff', schema: 'RunDiff' } },
  },
  { method: 'get', path: '/v1/runs/{id}/export', tag: 'runs', summary: 'A finished run as a file: spec, pinned templates, view and recording', description: 'What `trellis runs export` saves: a baseline a pipeline repository keeps, to import and replay its changes against at no token cost.', auth: 'apiKey', params: RUN_ID, responses: { 200: { description: 'the file', schema: 'RunExport' } } },
  { method: 'post', path: '/v1/runs/import', tag: 'runs', summary: 'Import an exported run', description: 'The run, finished as it was, under a new id in the key\'s project, with its recording: a baseline to replay and diff against. Nothing runs and no event is published.', auth: 'apiKey', body: { schema: RunExport, name: 'RunExportFile' }, responses: { 201: { description: 'the imported run', schema: 'RunView' } } },
  { method: 'get', path: '/v1/runs/{id}/products/{path}', tag: 'runs', summary: 'A product file of the run', description: '`path` may contain `/`.', auth: 'apiKey', params: ['id', 'path'], responses: { 200: { description: 'the file, with its content type', contentType: 'application/octet-stream' } } },

  { method: 'get', path: '/v1/models', tag: 'openai', summary: "The project's pipelines as models", auth: 'apiKey', openAiErrors: true, responses: { 200: { description: 'models', schema: 'ModelList' } } },
  { method: 'get', path: '/v1/models/{model}', tag: 'openai', summary: 'One pipeline as a model', auth: 'apiKey', openAiErrors: true, params: ['model'], responses: { 200: { description: 'the model', schema: 'ModelObject' } } },
  {
    method: 'post', path: '/v1/chat/completions', tag: 'openai', summary: 'Run the pipeline named by `model` with the conversation', auth: 'apiKey', openAiErrors: true,
    description: 'See docs/openai-compatible.md for the mapping of messages to inputs and of the answer step. With `stream: true`, `text/event-stream` of `ChatCompletionChunk`s ending with `data: [DONE]`.',
    body: { schema: ChatCompletionRequest, name: 'ChatCompletionRequest' },
    responses: { 200: { description: 'the completion (or a chunk stream)', schema: 'ChatCompletion' } },
  },
  {
    method: 'get', path: '/v1/audit', tag: 'audit', summary: 'The audit trail: who did what, when, and how it ended', auth: 'apiKeyOrAdmin', query: ListAuditQuery,
    description: 'Every state-changing call, newest first: the actor (the API key\'s id, or `admin`), the project, the action, the resource (`<kind>/<id>`) and the outcome (HTTP status, and the problem\'s code on failure). A key reads its own project\'s records; the admin token reads every project\'s, or one with `project`. Filters combine; `resource` also matches what is under it (`templates/x` finds `templates/x/labels/production`). Next page: `before` = the `next` of this one. No key material, prompt, input or body is ever recorded.',
    responses: { 200: { description: 'a page of records', schema: 'AuditList' } },
  },
  { method: 'get', path: '/healthz', tag: 'health', summary: 'Liveness', auth: 'none', responses: { 200: { description: 'the process answers', schema: 'Health' } } },
  {
    method: 'get', path: '/readyz', tag: 'health', summary: 'Readiness: NATS and PostgreSQL answer, and the planner and template registry have answered', auth: 'none',
    description: 'Not ready until the planner and the template registry have each answered once (a request right after a 200 is answered, not refused); their later outages do not make the gateway unready: requests then get 503 with `Retry-After`. Also not ready while NATS or PostgreSQL does not answer, and from the first moment of a drain.',
    responses: { 200: { description: 'ready', schema: 'Readiness' }, 503: { description: 'not ready', schema: 'Readiness' } },
  },
  { method: 'get', path: '/openapi.json', tag: 'docs', summary: 'This document', auth: 'none', responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' } } },
  { method: 'get', path: '/docs', tag: 'docs', summary: 'This document, browsable (Swagger UI)', auth: 'none', responses: { 200: { description: 'an HTML page', contentType: 'text/html' } } },
  { method: 'get', path: '/docs/assets/{file}', tag: 'docs', summary: "The docs page's scripts and styles", description: 'Swagger UI (`swagger-ui-bundle.js`, `swagger-ui.css`) from the installed `swagger-ui-dist`, and the start-up script `docs.js`; any other name is a 404.', auth: 'none', params: ['file'], responses: { 200: { description: 'the file, as JavaScript or CSS', contentType: 'text/javascript' } } },
  ...TEMPLATE_ROUTES,
];
