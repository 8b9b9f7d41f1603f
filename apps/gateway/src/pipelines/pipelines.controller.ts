import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { PipelineVersion, PlannerRpc, RegisterPipelineQuery } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/auth.guard';
import { specSource } from '../http/spec-body';

@Controller('v1/pipelines')
@UseGuards(ApiKeyGuard)
export class PipelinesController {
  constructor(private readonly rpc: RpcClient) {}

  /** Registers a pipeline (YAML or JSON); the same spec twice keeps its version. */
  @Post()
  @HttpCode(201)
  register(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Query() query: unknown) {
    const { override_alignment } = RegisterPipelineQuery.parse(query ?? {});
    return this.rpc.call(PlannerRpc.registerPipeline, { project: req.project, source: specSource(body), overrideAlignment: override_alignment === 'true' });
  }

  /** Compiles only: the plan and its parallel batches, or every error with line and column. */
  @Post('validate')
  @HttpCode(200)
  validate(@Req() req: AuthenticatedRequest, @Body() body: unknown) {
    return this.rpc.call(PlannerRpc.validatePipeline, { project: req.project, source: specSource(body) });
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
