import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OpenAiError } from '@trellis/contracts';
import { logger } from '@trellis/telemetry';
import { classifyError, retryAfterSeconds, STATUS } from '../http/problem.filter';

const TYPE: Record<number, string> = { 401: 'authentication_error', 403: 'permission_error', 404: 'invalid_request_error', 429: 'rate_limit_error' };
const CODE: Record<string, string> = { unauthenticated: 'invalid_api_key', rate_limited: 'rate_limit_exceeded', budget_exhausted: 'insufficient_quota', resource_exhausted: 'rate_limit_exceeded' };

/** The OpenAI error body and status for any error (same classification as the problem+json filter). */
export function openAiErrorBody(error: unknown): { status: number; body: OpenAiError } {
  if (error instanceof Error && (error as { code?: string }).code === 'run_failed') {
    return { status: 500, body: { error: { message: error.message, type: 'server_error', param: null, code: 'run_failed' } } };
  }
  const { code, detail, issues, status: explicit } = classifyError(error);
  const status = explicit ?? STATUS[code];
  const param = issues?.[0]?.path.length ? issues[0].path.join('.') : null;
  const message = issues?.length ? `${detail}: ${issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ')}` : detail;
  const type = TYPE[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
  const errorCode = status === 404 && param === 'model' ? 'model_not_found' : (CODE[code] ?? code);
  return { status, body: { error: { message, type, param, code: errorCode } } };
}

/** `{ error: { message, type, param, code } }` on the OpenAI-compatible routes, the shape the SDKs parse. */
@Catch()
export class OpenAiErrorFilter implements ExceptionFilter {
  private readonly log = logger('http');

  catch(error: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body } = openAiErrorBody(error);
    if (status >= 500) this.log.error({ err: error, url: request.url }, 'request failed');
    if (reply.sent || reply.raw.headersSent) return; // a stream reports its own errors as a data line
    const retryAfter = retryAfterSeconds(error);
    if (retryAfter) void reply.header('Retry-After', String(retryAfter));
    void reply.status(status).header('Content-Type', 'application/json').send(body);
  }
}
