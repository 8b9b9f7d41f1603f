import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CreateExperimentBody, ListExperimentsQuery, PromoteExperimentBody, RegistryRpc } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { ApiRoute } from '../openapi/api-route';
import { ADMIN_TOKEN_HEADER_DOC, AdminToken } from '../templates/admin-token';

/**
 * A/B experiments (DESIGN §6): on a template's versions, or on a pipeline's strategy (its
 * versions, selection modes, iteration policies). Starting a template experiment and promoting
 * its variant decide what unpinned runs get, as the production label does: they need what
 * moving production needs.
 */
@Controller('v1/experiments')
@UseGuards(ApiKeyGuard)
export class ExperimentsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly admin: AdminToken,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiRoute({
    tag: 'experiments',
    summary: "Create an A/B experiment: a template's versions, or a pipeline's versions, selection modes or iteration policies",
    headers: [ADMIN_TOKEN_HEADER_DOC],
    body: { schema: 'CreateExperimentBody' },
    responses: { 201: { description: 'created', schema: 'ExperimentView' } },
  })
  @Audited('experiment.create', ({ result }) => resourceOf('experiments', field(result, 'id')))
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const parsed = CreateExperimentBody.parse(body ?? {});
    const experiment = await this.rpc.call(RegistryRpc.createExperiment, { ...parsed, project: req.project, admin: this.admin.presentedBy(req) });
    void reply.header('Location', `/v1/experiments/${experiment.id}`);
    return experiment;
  }

  @Get()
  @ApiRoute({ tag: 'experiments', summary: 'List experiments', query: ListExperimentsQuery, responses: { 200: { description: 'experiments', schema: 'ExperimentList' } } })
  list(@Req() req: AuthenticatedRequest, @Query() query: unknown) {
    const parsed = ListExperimentsQuery.parse(query ?? {});
    return this.rpc.call(RegistryRpc.listExperiments, { project: req.project, ...parsed });
  }

  /** Per-variant results (runs, acceptance, mean score, iterations, tokens, cost, latency) with p-values. */
  @Get(':id')
  @ApiRoute({ tag: 'experiments', summary: 'An experiment with per-variant results and significance', responses: { 200: { description: 'the experiment', schema: 'ExperimentView' } } })
  get(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(RegistryRpc.getExperiment, { project: req.project, id });
  }

  /** A draft starts assigning subjects. */
  @Post(':id/start')
  @HttpCode(200)
  @ApiRoute({ tag: 'experiments', summary: 'Start a draft experiment', headers: [ADMIN_TOKEN_HEADER_DOC], responses: { 200: { description: 'running', schema: 'ExperimentView' } } })
  @Audited('experiment.start', ({ params }) => resourceOf('experiments', params['id']))
  start(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(RegistryRpc.updateExperiment, { project: req.project, admin: this.admin.presentedBy(req), id, status: 'running' });
  }

  /** Stops assigning; unpinned runs get `production` again. Final. */
  @Post(':id/stop')
  @HttpCode(200)
  @ApiRoute({ tag: 'experiments', summary: 'Stop an experiment (final)', headers: [ADMIN_TOKEN_HEADER_DOC], responses: { 200: { description: 'stopped', schema: 'ExperimentView' } } })
  @Audited('experiment.stop', ({ params }) => resourceOf('experiments', params['id']))
  stop(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(RegistryRpc.updateExperiment, { project: req.project, admin: this.admin.presentedBy(req), id, status: 'stopped' });
  }

  @Post(':id/promote')
  @HttpCode(200)
  @ApiRoute({
    tag: 'experiments',
    summary: "Make the winner (or the named variant) the default — a template's production label, or the pipeline's newest version — and stop the experiment",
    headers: [ADMIN_TOKEN_HEADER_DOC],
    body: { schema: 'PromoteExperimentBody' },
    responses: { 200: { description: 'promoted', schema: 'ExperimentView' } },
  })
  @Audited('experiment.promote', ({ params }) => resourceOf('experiments', params['id']))
  promote(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Body() body: unknown) {
    const parsed = PromoteExperimentBody.parse(body ?? {});
    return this.rpc.call(RegistryRpc.promoteExperiment, { project: req.project, admin: this.admin.presentedBy(req), id, ...parsed });
  }
}
