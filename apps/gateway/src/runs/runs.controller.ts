import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CreateRunBody, IdempotencyKey, ListRunsQuery, PlannerRpc, ReplayRunBody, RunExport } from '@trellis/contracts';
import { diffRuns } from '@trellis/engine';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { overrideAlignment } from '../http/spec-body';
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

  /**
   * Starts a run of a registered pipeline or an inline spec (alignment-checked, as at
   * registration); 202 with the run as created. With `Idempotency-Key`, a repeat of the same
   * body answers the first run (200).
   */
  @Post()
  @HttpCode(202)
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
  get(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.getRun, { project: req.project, runId: id });
  }

  /** SSE: every event of the run from the start, or after `Last-Event-ID`; ends after `run.completed`. */
  @Get(':id/events')
  async streamEvents(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() reply: FastifyReply) {
    await this.events.stream(req.project, id, lastEventId, reply);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Audited('run.cancel', ({ params }) => resourceOf('runs', params['id']))
  cancel(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.cancelRun, { project: req.project, runId: id });
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Audited('run.resume', ({ params }) => resourceOf('runs', params['id']))
  resume(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.resumeRun, { project: req.project, runId: id });
  }

  /**
   * A new run from a finished one (docs/replay.md): its calls answered from the recording,
   * live, or both; from a step on; with other inputs, template versions, models or spec.
   * 202 with the new run; the source never changes.
   */
  @Post(':id/replay')
  @HttpCode(202)
  @Audited('run.replay', ({ result }) => resourceOf('runs', field(result, 'id')))
  async replay(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const run = await this.starter.replay(req.principal, id, ReplayRunBody.parse(body ?? {}));
    void reply.header('Location', `/v1/runs/${run.id}`);
    return run;
  }

  /** Two runs of the project compared step by step. */
  @Get(':id/diff/:other')
  async diff(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Param('other') other: string) {
    const [a, b] = await Promise.all([id, other].map((runId) => this.rpc.call(PlannerRpc.getRun, { project: req.project, runId })));
    return diffRuns(a!, b!);
  }

  /** A finished run as a file (spec, pinned templates, view, recording): a baseline to import elsewhere. */
  @Get(':id/export')
  export(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(PlannerRpc.exportRun, { project: req.project, runId: id });
  }

  /** An exported run into this project, under a new id, finished as it was. */
  @Post('import')
  @HttpCode(201)
  @Audited('run.import', ({ result }) => resourceOf('runs', field(result, 'id')))
  import(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.rpc.call(PlannerRpc.importRun, { project: req.project, file: RunExport.parse(body ?? {}), actor: req.principal.keyId });
  }

  /** One product file of the run, as stored, with its content type. */
  @Get(':id/products/*')
  async product(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Res() reply: FastifyReply) {
    const path = (req.params as Record<string, string>)['*'] ?? '';
    const { product, data } = await this.products.read(req.project, id, path);
    await reply.header('content-type', product.contentType).header('content-length', data.byteLength).send(Buffer.from(data));
  }
}
