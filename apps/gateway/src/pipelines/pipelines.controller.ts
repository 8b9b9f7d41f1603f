import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { PipelineVersion, PlannerRpc } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, NotAudited, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { pipelineQuery, specSource } from '../http/spec-body';

@Controller('v1/pipelines')
@UseGuards(ApiKeyGuard)
export class PipelinesController {
  constructor(private readonly rpc: RpcClient) {}

  /** Registers a pipeline (YAML or JSON); the same spec twice keeps its version. */
  @Post()
  @HttpCode(201)
  @Audited('pipeline.register', ({ body, result }) => resourceOf('pipelines', field(result, 'name') ?? field(body, 'name')))
  register(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Query() query: unknown) {
    return this.rpc.call(PlannerRpc.registerPipeline, { project: req.project, source: specSource(body), ...pipelineQuery(query) });
  }

  /** Compiles only: the plan and its parallel batches, or every error with line and column; and the alignment check. */
  @Post('validate')
  @HttpCode(200)
  @NotAudited('compiles only: stores nothing')
  validate(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Query() query: unknown) {
    return this.rpc.call(PlannerRpc.validatePipeline, { project: req.project, source: specSource(body), ...pipelineQuery(query) });
  }

  @Get()
  list(@Req() req: AuthenticatedRequest) {
    return this.rpc.call(PlannerRpc.listPipelines, { project: req.project });
  }

  @Get(':name')
  get(@Req() req: AuthenticatedRequest, @Param('name') name: string) {
    return this.rpc.call(PlannerRpc.getPipeline, { project: req.project, name });
  }

  /** Every version, newest first. */
  @Get(':name/versions')
  versions(@Req() req: AuthenticatedRequest, @Param('name') name: string) {
    return this.rpc.call(PlannerRpc.listPipelineVersions, { project: req.project, name });
  }

  /** One version: its spec and plan, as a run of it compiled. */
  @Get(':name/versions/:version')
  version(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Param('version') version: string) {
    return this.rpc.call(PlannerRpc.getPipeline, { project: req.project, name, version: PipelineVersion.parse(version) });
  }
}
