import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CreateProjectBody } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';
import { catchError, mergeMap, type Observable } from 'rxjs';
import type { Principal } from '../projects/project.service';
import { classifyError, STATUS } from '../http/problem.filter';
import { ADMIN_ACTOR, type AdminRequest } from '../http/admin.guard';
import { AuditRepository } from './audit.repository';
import { AUDIT_METADATA, type AuditSpec } from './audited';

const MAX_RESOURCE = 400;
const ProjectId = CreateProjectBody.shape.id;

/**
 * Writes one audit record for every call of a handler marked `@Audited`, once it has
 * answered or failed: who (the key's id, or `admin`), in which project, what, on which
 * resource, and the outcome (the HTTP status, and the problem's code on failure). The record
 * is written before the answer leaves; if it cannot be written the call still answers (it has
 * already happened) and the record goes to the error log in its place. A call refused by
 * authentication never reaches here: it has no actor, and recording it would let anyone fill
 * the table.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  private readonly log = logger('audit');

  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditRepository,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = this.reflector.get<AuditSpec | undefined>(AUDIT_METADATA, context.getHandler());
    if (!spec || 'notAudited' in spec) return next.handle();
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal } & AdminRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const write = async (result: unknown, error: unknown) => {
      const params = (request.params ?? {}) as Record<string, string | undefined>;
      const failure = error === undefined ? undefined : classifyError(error);
      const resource = spec.resource({ params, body: request.body, result });
      const record = {
        project: request.principal?.project ?? adminProject(params, request.body),
        actor: request.principal?.keyId ?? (request.actor === ADMIN_ACTOR ? ADMIN_ACTOR : 'anonymous'),
        action: spec.action,
        resource: resource === undefined ? null : resource.slice(0, MAX_RESOURCE),
        outcome: failure ? ('error' as const) : ('success' as const),
        status: failure ? (failure.status ?? STATUS[failure.code]) : reply.statusCode,
        error: failure ? failure.code.slice(0, 64) : null,
      };
      try {
        await this.audit.append(record);
      } catch (err) {
        this.log.error({ err, record }, 'audit record not written');
      }
    };
    return next.handle().pipe(
      mergeMap(async (result: unknown) => {
        await write(result, undefined);
        return result;
      }),
      catchError(async (error: unknown) => {
        await write(undefined, error);
        throw error;
      }),
    );
  }
}

/** The admin token acts on the project in the path (`/v1/projects/{id}/…`) or, creating one, in the body. */
function adminProject(params: Record<string, string | undefined>, body: unknown): string | null {
  const id = params['id'] ?? (body !== null && typeof body === 'object' ? (body as Record<string, unknown>)['id'] : undefined);
  return ProjectId.safeParse(id).success ? (id as string) : null;
}
