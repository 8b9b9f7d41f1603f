import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CreateTemplateBody, ListTemplatesQuery, MoveLabelBody, RegistryRpc, RenderTemplateBody, TemplateQuery } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, NotAudited, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { GatewayError } from '../http/gateway.errors';
import { AdminToken } from './admin-token';

/** Versioned templates (DESIGN §6): the registry answers, scoped to the key's project. */
@Controller('v1/templates')
@UseGuards(ApiKeyGuard)
export class TemplatesController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly admin: AdminToken,
  ) {}

  /** A new version (201), or the newest one when nothing changed (200, `created: false`). */
  @Post()
  @HttpCode(201)
  @Audited('template.create', ({ body, result }) => resourceOf('templates', field(field(result, 'template'), 'name') ?? field(body, 'name')))
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const parsed = CreateTemplateBody.parse(body ?? {});
    const result = await this.rpc.call(RegistryRpc.createTemplate, { ...parsed, project: req.project, admin: this.admin.presentedBy(req) });
    if (!result.created) void reply.status(200);
    void reply.header('Location', `/v1/templates/${encodeURIComponent(result.template.name)}`);
    return result;
  }

  @Get()
  list(@Req() req: AuthenticatedRequest, @Query() query: unknown) {
    const parsed = ListTemplatesQuery.parse(query ?? {});
    return this.rpc.call(RegistryRpc.listTemplates, { project: req.project, ...(parsed.category ? { category: parsed.category } : {}) });
  }

  /** The template as the project (and feature) sees it: which level answered, why, and what was considered. */
  @Get(':name')
  get(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Query() query: unknown) {
    const parsed = TemplateQuery.parse(query ?? {});
    // A key sees its own project only: naming another is the same as naming nothing that exists.
    if (parsed.project !== undefined && parsed.project !== req.project) throw new GatewayError('not_found', `no template named "${name}"`);
    return this.rpc.call(RegistryRpc.getTemplate, { project: req.project, name, ...(parsed.feature ? { feature: parsed.feature } : {}) });
  }

  /** Points a label at a version; protected labels (production) need `X-Trellis-Admin-Token`. */
  @Put(':name/labels/:label')
  @Audited('template.label', ({ params }) => resourceOf('templates', `${params['name']}/labels/${params['label']}`))
  move(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Param('label') label: string, @Body() body: unknown) {
    const parsed = MoveLabelBody.parse(body ?? {});
    return this.rpc.call(RegistryRpc.moveLabel, { ...parsed, project: req.project, admin: this.admin.presentedBy(req), name, label });
  }

  /** A preview: the template rendered with `variables`; a missing one is a 400 naming it. */
  @Post(':name/render')
  @HttpCode(200)
  @NotAudited('a preview: renders, stores nothing')
  render(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Body() body: unknown) {
    const parsed = RenderTemplateBody.parse(body ?? {});
    return this.rpc.call(RegistryRpc.renderTemplate, { ...parsed, project: req.project, name });
  }
}
