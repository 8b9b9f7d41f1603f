import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CreateExperimentBody, ListExperimentsQuery, PromoteExperimentBody, RegistryRpc } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { AdminToken } from '../templates/admin-token';

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
  @Audited('experiment.create', ({ result }) => resourceOf('experiments', field(result, 'id')))
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const parsed = CreateExperimentBody.parse(body ?? {});
    const experiment = await this.rpc.call(RegistryRpc.createExperiment, { ...parsed, project: req.project, admin: this.admin.presentedBy(req) });
    void reply.header('Location', `/v1/experiments/${experiment.id}`);
    return experiment;
  }

  @Get()
  list(@Req() req: AuthenticatedRequest, @Query() query: unknown) {
    const parsed = ListExperimentsQuery.parse(query ?? {});
    return this.rpc.call(RegistryRpc.listExperiments, { project: req.project, ...parsed });
  }

  /** Per-variant results (runs, acceptance, mean score, iterations, tokens, cost, latency) with p-values. */
  @Get(':id')
  get(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(RegistryRpc.getExperiment, { project: req.project, id });
  }

  /** A draft starts assigning subjects. */
  @Post(':id/start')
  @HttpCode(200)
  @Audited('experiment.start', ({ params }) => resourceOf('experiments', params['id']))
  start(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(RegistryRpc.updateExperiment, { project: req.project, admin: this.admin.presentedBy(req), id, status: 'running' });
  }

  /** Stops assigning; unpinned runs get `production` again. Final. */
  @Post(':id/stop')
  @HttpCode(200)
  @Audited('experiment.stop', ({ params }) => resourceOf('experiments', params['id']))
  stop(@Req() req: AuthenticatedRequest, @Param('id') id: string) {
    return this.rpc.call(RegistryRpc.updateExperiment, { project: req.project, admin: this.admin.presentedBy(req), id, status: 'stopped' });
  }

  /** Makes the winner (or `{variant}`) the default — `production`, or the pipeline's newest version — and stops the experiment. */
  @Post(':id/promote')
  @HttpCode(200)
  @Audited('experiment.promote', ({ params }) => resourceOf('experiments', params['id']))
  promote(@Req() req: AuthenticatedRequest, @Param('id') id: string, @Body() body: unknown) {
    const parsed = PromoteExperimentBody.parse(body ?? {});
    return this.rpc.call(RegistryRpc.promoteExperiment, { project: req.project, admin: this.admin.presentedBy(req), id, ...parsed });
  }
}
