import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ProjectService, type Principal } from '../projects/project.service';
import { GatewayError } from './gateway.errors';
import { RequestRateLimiter } from './request-rate-limiter';

export interface AuthenticatedRequest extends FastifyRequest {
  project: string;
  principal: Principal;
}

export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(header ?? '')?.[1];
}

/**
 * `Authorization: Bearer <key>`; the key names the project every query is scoped to, and its
 * request rate is limited here, before any work is done for it. Only the key's SHA-256 is
 * looked up, so the stored hashes reveal no key.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly projects: ProjectService,
    private readonly limiter: RequestRateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const key = bearerToken(request.headers.authorization);
    if (!key) throw new GatewayError('unauthenticated', 'send "Authorization: Bearer <api key>"');
    const principal = await this.projects.authenticate(key);
    if (!principal) throw new GatewayError('unauthenticated', 'the API key is not valid');
    const wait = await this.limiter.take(principal.keyId, principal.rateLimitPerMinute);
    if (wait > 0) {
      throw new GatewayError('rate_limited', `this key may make ${principal.rateLimitPerMinute} requests per minute; retry in ${wait} s`, undefined, wait);
    }
    request.principal = principal;
    request.project = principal.project;
    return true;
  }
}
