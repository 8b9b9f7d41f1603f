import { Controller, Get, Injectable, Query, Req, UseGuards, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ListAuditQuery, type AuditList } from '@trellis/contracts';
import { AdminGuard, ADMIN_ACTOR, type AdminRequest } from '../http/admin.guard';
import { ApiKeyGuard, bearerToken, type AuthenticatedRequest } from '../http/api-key.guard';
import { GatewayError } from '../http/gateway.errors';
import { ApiRoute } from '../openapi/api-route';
import { AuditRepository } from './audit.repository';

/** The admin token, or else an API key (with its rate limit): the audit trail answers both. */
@Injectable()
export class AdminOrApiKeyGuard implements CanActivate {
  constructor(
    private readonly admin: AdminGuard,
    private readonly apiKey: ApiKeyGuard,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined && this.admin.isAdminToken(token)) {
      request.actor = ADMIN_ACTOR;
      return true;
    }
    return this.apiKey.canActivate(context);
  }
}

/** `GET /v1/audit`: who did what, when, and how it ended (PRD NFR4). */
@Controller('v1/audit')
@UseGuards(AdminOrApiKeyGuard)
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Get()
  @ApiRoute({
    tag: 'audit',
    summary: 'The audit trail: who did what, when, and how it ended',
    description:
      "Every state-changing call, newest first: the actor (the API key's id, or `admin`), the project, the action, the resource (`<kind>/<id>`) and the outcome (HTTP status, and the problem's code on failure). A key reads its own project's records; the admin token reads every project's, or one with `project`. Filters combine; `resource` also matches what is under it (`templates/x` finds `templates/x/labels/production`). Next page: `before` = the `next` of this one. No key material, prompt, input or body is ever recorded.",
    query: ListAuditQuery,
    responses: { 200: { description: 'a page of records', schema: 'AuditList' } },
  })
  async list(@Req() req: AuthenticatedRequest & AdminRequest, @Query() query: unknown): Promise<AuditList> {
    const { project, ...filters } = ListAuditQuery.parse(query ?? {});
    const admin = req.actor === ADMIN_ACTOR;
    // A key sees its own project only: naming another is the same as naming nothing that exists.
    if (!admin && project !== undefined && project !== req.project) throw new GatewayError('not_found', `no project "${project}"`);
    const items = await this.audit.list({ ...filters, project: admin ? project : req.project });
    return { items, next: items.length === filters.limit ? items.at(-1)!.id : null };
  }
}
