import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { CreateTemplateBody, ListTemplatesQuery, MoveLabelBody, RegistryRpc, RenderTemplateBody, TemplateQuery } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { Audited, field, NotAudited, resourceOf } from '../audit/audited';
import { ApiKeyGuard, type AuthenticatedRequest } from '../http/api-key.guard';
import { GatewayError } from '../http/gateway.errors';
import { ApiRoute } from '../openapi/api-route';
import { ADMIN_TOKEN_HEADER_DOC, AdminToken } from './admin-token';

/** Versioned templates (DESIGN §6): the registry answers, scoped to the key's project. */
@Controller('v1/templates')
@UseGuards(ApiKeyGuard)
export class TemplatesController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly admin: AdminToken,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiRoute({
    tag: 'templates',
    summary: 'Create a template version',
    description: 'A new immutable version (201), or the newest one unchanged when body, variables and parameters are equal (200, created: false).',
    headers: [ADMIN_TOKEN_HEADER_DOC],
    body: { schema: 'CreateTemplateBody' },
    responses: { 201: { description: 'created', schema: 'CreatedTemplateVersion' }, 200: { description: 'unchanged', schema: 'CreatedTemplateVersion' } },
  })
  @Audited('template.create', ({ body, result }) => resourceOf('templates', field(field(result, 'template'), 'name') ?? field(body, 'name')))
  async create(@Req() req: AuthenticatedRequest, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const parsed = CreateTemplateBody.parse(body ?? {});
    const result = await this.rpc.call(RegistryRpc.createTemplate, { ...parsed, project: req.project, admin: this.admin.presentedBy(req) });
    if (!result.created) void reply.status(200);
    void reply.header('Location', `/v1/templates/${encodeURIComponent(result.template.name)}`);
    return result;
  }

  @Get()
  @ApiRoute({ tag: 'templates', summary: 'List the global templates and the project’s own', query: ListTemplatesQuery, responses: { 200: { description: 'templates', schema: 'TemplateList' } } })
  list(@Req() req: AuthenticatedRequest, @Query() query: unknown) {
    const parsed = ListTemplatesQuery.parse(query ?? {});
    return this.rpc.call(RegistryRpc.listTemplates, { project: req.project, ...(parsed.category ? { category: parsed.category } : {}) });
  }

  @Get(':name')
  @ApiRoute({
    tag: 'templates',
    summary: 'Show a template: the level that answers (feature → project → global), why, and its versions and labels',
    query: TemplateQuery,
    responses: { 200: { description: 'the template as the project sees it', schema: 'TemplateLookup' } },
  })
  get(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Query() query: unknown) {
    const parsed = TemplateQuery.parse(query ?? {});
    // A key sees its own project only: naming another is the same as naming nothing that exists.
    if (parsed.project !== undefined && parsed.project !== req.project) throw new GatewayError('not_found', `no template named "${name}"`);
    return this.rpc.call(RegistryRpc.getTemplate, { project: req.project, name, ...(parsed.feature ? { feature: parsed.feature } : {}) });
  }

  @Put(':name/labels/:label')
  @ApiRoute({
    tag: 'templates',
    summary: 'Point a label at a version (atomic); protected labels need the admin token',
    headers: [ADMIN_TOKEN_HEADER_DOC],
    body: { schema: 'MoveLabelBody' },
    responses: { 200: { description: 'the label and where it pointed before', schema: 'LabelView' } },
  })
  @Audited('template.label', ({ params }) => resourceOf('templates', `${params['name']}/labels/${params['label']}`))
  move(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Param('label') label: string, @Body() body: unknown) {
    const parsed = MoveLabelBody.parse(body ?? {});
    return this.rpc.call(RegistryRpc.moveLabel, { ...parsed, project: req.project, admin: this.admin.presentedBy(req), name, label });
  }

  @Post(':name/render')
  @HttpCode(200)
  @ApiRoute({
    tag: 'templates',
    summary: 'Render a template with variables (preview); a missing variable is a 400 naming it',
    body: { schema: 'RenderTemplateBody' },
    responses: { 200: { description: 'the rendered text or messages', schema: 'RenderedTemplate' } },
  })
  @NotAudited('a preview: renders, stores nothing')
  render(@Req() req: AuthenticatedRequest, @Param('name') name: string, @Body() body: unknown) {
    const parsed = RenderTemplateBody.parse(body ?? {});
    return this.rpc.call(RegistryRpc.renderTemplate, { ...parsed, project: req.project, name });
  }
}
