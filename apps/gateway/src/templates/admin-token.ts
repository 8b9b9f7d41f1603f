import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';

/** The header that carries `TRELLIS_ADMIN_TOKEN` beside the API key, for protected labels and global templates. */
export const ADMIN_TOKEN_HEADER = 'x-trellis-admin-token';

/** The header as the OpenAPI document describes it, on the routes where the registry may ask for it. */
export const ADMIN_TOKEN_HEADER_DOC = {
  name: ADMIN_TOKEN_HEADER,
  description: 'TRELLIS_ADMIN_TOKEN: needed for protected labels (production), the global level, and starting or promoting experiments',
};

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Whether a request presented the admin token. The registry decides what needs it (protected
 * labels, the global level, experiments); the gateway only tells it, as `admin` on the RPC.
 * Without a configured token nobody is admin. Compared as digests in constant time.
 */
@Injectable()
export class AdminToken {
  private readonly token: Buffer | undefined;

  constructor(@Inject(GATEWAY_CONFIG) config: GatewayConfig) {
    this.token = config.TRELLIS_ADMIN_TOKEN ? digest(config.TRELLIS_ADMIN_TOKEN) : undefined;
  }

  presentedBy(request: FastifyRequest): boolean {
    const presented = request.headers[ADMIN_TOKEN_HEADER];
    if (!this.token || typeof presented !== 'string' || !presented) return false;
    return timingSafeEqual(digest(presented), this.token);
  }
}
