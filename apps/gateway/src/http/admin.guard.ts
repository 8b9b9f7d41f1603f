import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { bearerToken } from './api-key.guard';
import { GatewayError } from './gateway.errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Who the admin token is, in the audit trail. */
export const ADMIN_ACTOR = 'admin';

/** A request the admin token authenticated. */
export interface AdminRequest extends FastifyRequest {
  actor?: typeof ADMIN_ACTOR;
}

/**
 * `Authorization: Bearer <TRELLIS_ADMIN_TOKEN>` for the project administration routes. Without
 * the variable the routes answer 404: they do not exist on that gateway. Compared as digests
 * in constant time.
 */
@Injectable()
export class AdminGuard implements CanActivate {
  private readonly token: Buffer | undefined;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.token = config.TRELLIS_ADMIN_TOKEN ? digest(config.TRELLIS_ADMIN_TOKEN) : undefined;
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.token) throw new GatewayError('not_found', 'project administration is disabled (set TRELLIS_ADMIN_TOKEN)');
    const request = context.switchToHttp().getRequest<AdminRequest>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new GatewayError('unauthenticated', 'send "Authorization: Bearer <admin token>"');
    if (!this.isAdminToken(token)) throw new GatewayError('unauthenticated', 'the admin token is not valid');
    request.actor = ADMIN_ACTOR;
    return true;
  }

  /** Whether this bearer token is the admin token (false when the gateway has none). */
  isAdminToken(token: string): boolean {
    return this.token !== undefined && timingSafeEqual(digest(token), this.token);
  }
}
