import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { bearerToken } from './auth.guard';
import { GatewayError } from './gateway.errors';

const digest = (s: string) => createHash('sha256').update(s).digest();

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
    const token = bearerToken(context.switchToHttp().getRequest<FastifyRequest>().headers.authorization);
    if (!token) throw new GatewayError('unauthenticated', 'send "Authorization: Bearer <admin token>"');
    if (!timingSafeEqual(digest(token), this.token)) throw new GatewayError('unauthenticated', 'the admin token is not valid');
    return true;
  }
}
