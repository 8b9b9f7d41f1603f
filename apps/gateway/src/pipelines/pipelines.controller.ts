import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, UseGuards } from '@nestjs/common';
import { PipelineQuery, PipelineVersion, PlannerRpc } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, NotAudited, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { ALIGNMENT_CHECK_DOC, pipelineQuery, specSource } from '../http/spec-body';
import { ApiRoute } from '../openapi/api-route';

@Controller('v1/pipelines')
@UseGuards(ApiKeyGuard)
export class PipelinesController {
  constructor(private readonly rpc: RpcClient) {}

  @Post()
  @HttpCode(201)
  @ApiRoute({
    tag: 'pipelines',
    summary: 'Register a pipeline (YAML or JSON)',
    description: `The same spec twice keeps its version. A spec with \`orchestrator\` is analysed by that model (intention, architecture). ${ALIGNMENT_CHECK_DOC}`,
    query: PipelineQuery,
    body: { schema: 'PipelineSpec', yaml: true },
    responses: { 201: { description: 'registered', schema: 'PipelineView' } },
  })
  @Audited('pipeline.register', ({ body, result }) => resourceOf('pipelines', field(result, 'name') ?? field(body, 'name')))
  register(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Query() query: unknown) {
    return this.rpc.call(PlannerRpc.registerPipeline, { project: req.project, source: specSource(body), ...pipelineQuery(query) });
  }

  @Post('validate')
  @HttpCode(200)
  @ApiRoute({
    tag: 'pipelines',
    summary: 'Compile only: the plan and its batches, or every error with line and column',
    description: `Nothing is registered. ${ALIGNMENT_CHECK_DOC}`,
    query: PipelineQuery,
    body: { schema: 'PipelineSpec', yaml: true },
    responses: { 200: { description: 'the plan', schema: 'PlanView' } },
  })
  @NotAudited('compiles only: stores nothing')
  validate(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Query() query: unknown) {
    return this.rpc.call(PlannerRpc.validatePipeline, { project: req.project, source: specSource(body), ...pipelineQuery(query) });
  }

  @Get()
  @ApiRoute({ tag: 'pipelines', summary: "The project's pipelines (latest versions)", responses: { 200: { description: 'the pipelines', schema: 'PipelineList' } } })
  list(@Req() req: AuthenticatedRequest) {
    return this.rpc.call(PlannerRpc.listPipelines, { project: req.project });
  }

  @Get(':name')
  @ApiRoute({ tag: 'pipelines', summary: 'A pipeline: spec and plan', responses: { 200: { description: 'the pipeline', schema: 'PipelineView' } } })
  get(@Req() req: AuthenticatedRequest, @Param('name') name: string) {
    return this.rpc.call(PlannerRpc.getPipeline, { project: req.project, name });
  }

  @Get(':name/versions')
  @ApiRoute({ tag: 'pipelines', summary: "A pipeline's versions, newest first", responses: { 200: { description: 'the versions', schema: 'PipelineList' } } })
  versions(@Req() req: AuthenticatedRequest, @Param('name') name: string) {
    return this.rpc.call(PlannerRpc.listPipelineVersions, { project: req.project, name });
  }

  /** As a run of it compiled. */
  @Get(':name/versions/:version')
  @ApiRoute({ tag: 'pipelines', summary: 'One version of a pipeline: spec and plan', responses: { 200: { description: 'the version', schema: 'PipelineView' } } })
  version(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Param('version') version: string) {
    return this.rpc.call(PlannerRpc.getPipeline, { project: req.project, name, version: PipelineVersion.parse(version) });
  }
}
