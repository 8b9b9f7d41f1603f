import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CreateRunBody, IdempotencyKey, ListRunsQuery, OverrideAlignmentQuery, PlannerRpc, ReplayRunBody, RunExport } from '@trellis/contracts';
import { diffRuns } from '@trellis/engine';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { ALIGNMENT_CHECK_DOC, overrideAlignment } from '../http/spec-body';
import { ApiRoute } from '../openapi/api-route';
import { ProductsService } from './products.service';
import { RunEventsService } from './run-events.service';
import { RunStarterService } from './run-starter.service';

@Controller('v1/runs')
@UseGuards(ApiKeyGuard)
export class RunsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly starter: RunStarterService,
    private readonly events: RunEventsService,
    private readonly products: ProductsService,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiRoute({
    tag: 'runs',
    summary: 'Start a run',
    description: `Of a registered pipeline or an inline spec. Always accepted (202) unless the project's budget for the UTC day is spent (429 \`budget_exhausted\`, \`Retry-After\` = the next day, the problem naming the budget): a run beyond its project's \`maxRunningRuns\` (or its pipeline's \`concurrency\`) running is \`queued\`, with its place and an estimated wait, and starts when a slot frees, by \`priority\` (1–5, default 3), then in order of submission. With \`Idempotency-Key\`, the same body answers the first run (200, \`Idempotent-Replayed: true\`); another body with the key is a 422; the first request still starting is a 409. An inline spec is checked as at registration: ${ALIGNMENT_CHECK_DOC}`,
    headers: [{ name: 'Idempotency-Key', description: 'makes a retry of this request start no second run' }],
    query: OverrideAlignmentQuery,
    body: { schema: 'CreateRunBody' },
    responses: { 202: { description: 'started', schema: 'RunView' }, 200: { description: 'the run an earlier request with this Idempotency-Key started', schema: 'RunView' } },
  })
  @Audited('run.start', ({ result }) => resourceOf('runs', field(result, 'id')))
  async create(
    @Req() req: AuthenticatedRequest,
    @Body() body: unknown,
    @Query() query: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const parsed = CreateRunBody.parse(body ?? {});
    const key = idempotencyKey === undefined ? undefined : IdempotencyKey.parse(idempotencyKey);
    const { run, replayed } = await this.starter.start(req.principal, parsed, { idempotencyKey: key, overrideAlignment: overrideAlignment(query) });
    void reply.header('Location', `/v1/runs/${run.id}`);
    if (replayed) void reply.status(200).header('Idempotent-Replayed', 'true');
    return run;
  }

  @Get()
  @ApiRoute({ tag: 'runs', summary: "The project's runs, newest first", query: ListRunsQuery, responses: { 200: { description: 'a page of runs', schema: 'RunList' } } })
  list(@Req() req: AuthenticatedRequest, @Query() query: unknown) {
    const { created_from, created_to, ...parsed } = ListRunsQuery.parse(query ?? {});
    return this.rpc.call(PlannerRpc.listRuns, {
      project: req.project,
      ...parsed,
      ...(created_from ? { createdFrom: created_from } : {}),
      ...(created_to ? { createdTo: created_to } : {}),
    });
  }

  @Get(':id')
  @ApiRoute({ tag: 'runs', summary: 'A run: steps, outputs, tokens, products', responses: { 200: { description: 'the run', schema: 'RunView' } } })
  get(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.getRun, { project: req.project, runId: id });
  }

  @Get(':id/events')
  @ApiRoute({
    tag: 'runs',
    summary: "The run's events (SSE)",
    description:
      'Server-Sent Events: `id:` the stream sequence, `event:` the CloudEvents type, `data:` the CloudEvent JSON (docs/asyncapi.yaml). From the start, or after `Last-Event-ID`; ends after `dev.trellis.run.completed`; `: keep-alive` comments while idle.',
    headers: [{ name: 'Last-Event-ID', description: 'resume after this stream sequence' }],
    responses: { 200: { description: 'an event stream', contentType: 'text/event-stream' } },
  })
  async streamEvents(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() reply: FastifyReply) {
    await this.events.stream(req.project, id, lastEventId, reply);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiRoute({ tag: 'runs', summary: 'Cancel a running run', responses: { 200: { description: 'the run', schema: 'RunView' } } })
  @Audited('run.cancel', ({ params }) => resourceOf('runs', params['id']))
  cancel(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.cancelRun, { project: req.project, runId: id });
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiRoute({ tag: 'runs', summary: 'Re-run failed, cancelled and skipped steps', responses: { 200: { description: 'the run', schema: 'RunView' } } })
  @Audited('run.resume', ({ params }) => resourceOf('runs', params['id']))
  resume(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.resumeRun, { project: req.project, runId: id });
  }

  @Post(':id/replay')
  @HttpCode(202)
  @ApiRoute({
    tag: 'runs',
    summary: 'Replay or fork a finished run',
    description:
      "A new run (the source never changes; its view carries `source: { run, from, mode }`). `mode`: `recorded` answers every model and tool call from the source's recording (a request that differs fails its step with `replay_miss` and the difference), `live` calls them again, `recorded_else_live` answers from the recording where the request matches and calls the model where it does not. `from`: the step to fork from: it, the steps downstream of it and those an override reaches run; every other step is carried over (`reused`). `overrides`: `inputs` (merged over the source's), `templates` (name → selector), `models` (step → model), `spec` (another version of the pipeline, JSON or YAML text). Without `from` and overrides the whole run is replayed. A replay is a new run of the project: queued while the project has `maxRunningRuns` running (by `priority`, 1–5, default 3), refused with 429 `budget_exhausted` once its budget for the UTC day is spent. See docs/replay.md.",
    body: { schema: 'ReplayRunBody' },
    responses: { 202: { description: 'the new run', schema: 'RunView' } },
  })
  @Audited('run.replay', ({ result }) => resourceOf('runs', field(result, 'id')))
  async replay(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const run = await this.starter.replay(req.principal, id, ReplayRunBody.parse(body ?? {}));
    void reply.header('Location', `/v1/runs/${run.id}`);
    return run;
  }

  @Get(':id/diff/:other')
  @ApiRoute({
    tag: 'runs',
    summary: 'Two runs compared step by step',
    description:
      "Per step, side by side: status, model, template version, score, rounds, tokens, cost and time; the conversation sent and the output as unified diffs, and a JSON output's structural changes. A step is changed when its status, prompt, output, model, template version, score or rounds differ. `summary`: `identical`, and the `changed`, `added` and `removed` steps; `cost` and `durationMs` with their deltas (other - id).",
    responses: { 200: { description: 'the diff', schema: 'RunDiff' } },
  })
  async diff(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Param('other') other: string) {
    const [a, b] = await Promise.all([id, other].map((runId) => this.rpc.call(PlannerRpc.getRun, { project: req.project, runId })));
    return diffRuns(a!, b!);
  }

  @Get(':id/export')
  @ApiRoute({
    tag: 'runs',
    summary: 'A finished run as a file: spec, pinned templates, view and recording',
    description: 'What `trellis runs export` saves: a baseline a pipeline repository keeps, to import and replay its changes against at no token cost.',
    responses: { 200: { description: 'the file', schema: 'RunExport' } },
  })
  export(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.exportRun, { project: req.project, runId: id });
  }

  @Post('import')
  @HttpCode(201)
  @ApiRoute({
    tag: 'runs',
    summary: 'Import an exported run',
    description: "The run, finished as it was, under a new id in the key's project, with its recording: a baseline to replay and diff against. Nothing runs and no event is published.",
    body: { schema: 'RunExportFile' },
    responses: { 201: { description: 'the imported run', schema: 'RunView' } },
  })
  @Audited('run.import', ({ result }) => resourceOf('runs', field(result, 'id')))
  import(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.rpc.call(PlannerRpc.importRun, { project: req.project, file: RunExport.parse(body ?? {}), actor: req.principal.keyId });
  }

  @Get(':id/products/*')
  @ApiRoute({ tag: 'runs', summary: 'A product file of the run', description: '`path` may contain `/`.', responses: { 200: { description: 'the file, with its content type', contentType: 'application/octet-stream' } } })
  async product(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Res() reply: FastifyReply) {
    const path = (req.params as Record<string, string>)['*'] ?? '';
    const { product, data } = await this.products.read(req.project, id, path);
    await reply.header('content-type', product.contentType).header('content-length', data.byteLength).send(Buffer.from(data));
  }
}
