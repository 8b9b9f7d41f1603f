import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Problem } from '@trellis/contracts';
import { openAiErrorBody } from '../openai/openai-error.filter';
import { GatewayError } from './gateway.errors';

/**
 * A body announced larger than the limit gets its 413 after the gateway has read (and
 * dropped) it. Fastify alone answers at once and closes the socket while the client is still
 * sending, and most clients then report a broken pipe instead of the 413. Bodies beyond
 * `drainFactor` times the limit are not worth reading: Fastify closes those connections.
 */
export function answerOversizedBodies(app: NestFastifyApplication, limit: number, drainFactor = 8): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (request, reply, done) => {
      const length = Number(request.headers['content-length'] ?? 0);
      if (!(length > limit) || length > limit * drainFactor) return done();
      const detail = `the request body is ${length} bytes; the limit is ${limit}`;
      const openAi = request.url.startsWith('/v1/chat/') || request.url.startsWith('/v1/models');
      const body = openAi
        ? openAiErrorBody(new GatewayError('payload_too_large', detail)).body
        : ({ type: 'urn:trellis:problem:payload_too_large', title: 'Payload too large', status: 413, detail, code: 'payload_too_large', instance: request.url } satisfies Problem);
      request.raw.on('end', () => void reply.status(413).header('content-type', openAi ? 'application/json' : 'application/problem+json').send(body));
      request.raw.resume();
    });
}
