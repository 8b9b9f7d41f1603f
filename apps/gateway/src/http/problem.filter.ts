import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode, Issue, Problem } from '@trellis/contracts';
import { RpcCallError } from '@trellis/messaging';
import { logger } from '@trellis/telemetry';
import { ZodError } from 'zod';
import { GatewayError, type GatewayErrorCode } from './gateway.errors';

/** Every code a problem may carry: the services' (over RPC) and the gateway's own. */
export type ProblemCode = ErrorCode | GatewayErrorCode;

/** The one place where error codes become HTTP statuses; a code left out does not compile. */
export const STATUS = {
  invalid_argument: 400,
  unauthenticated: 401,
  not_found: 404,
  conflict: 409,
  failed_precondition: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  // The IETF Idempotency-Key draft: a key reused with another body is 422; one still in flight, 409.
  idempotency_conflict: 422,
  rate_limited: 429,
  budget_exhausted: 429,
  resource_exhausted: 429,
  unavailable: 503,
  internal: 500,
} as const satisfies Record<ProblemCode, number>;

const TITLE = {
  invalid_argument: 'Invalid request',
  unauthenticated: 'Unauthenticated',
  not_found: 'Not found',
  conflict: 'Conflict',
  failed_precondition: 'Failed precondition',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  idempotency_conflict: 'Idempotency-Key reused',
  rate_limited: 'Too many requests',
  budget_exhausted: 'Budget exhausted',
  resource_exhausted: 'Limit reached',
  unavailable: 'Service unavailable',
  internal: 'Internal error',
} as const satisfies Record<ProblemCode, string>;

/** RFC 9457 problem details for every error on the REST API, with every validation issue listed. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly log = logger('http');

  catch(error: unknown, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { code, detail, issues, status: explicit } = classifyError(error);
    const status = explicit ?? STATUS[code];
    if (status >= 500) this.log.error({ err: error, url: request.url }, 'request failed');
    const problem: Problem = {
      type: `urn:trellis:problem:${code}`,
      title: TITLE[code],
      status,
      detail,
      code,
      instance: request.url,
      ...(issues?.length
        ? {
            errors: issues.map((i) => ({
              path: i.path.join('.'),
              message: i.message,
              ...(i.line !== undefined ? { line: i.line } : {}),
              ...(i.column !== undefined ? { column: i.column } : {}),
            })),
          }
        : {}),
    };
    if (status === 401) void reply.header('WWW-Authenticate', 'Bearer');
    const retryAfter = retryAfterSeconds(error);
    if (retryAfter) void reply.header('Retry-After', String(retryAfter));
    void reply.status(status).header('Content-Type', 'application/problem+json').send(problem);
  }
}

/**
 * Seconds after which the request may succeed, for `Retry-After`: what a limit said (429), or
 * 1 s when a service the gateway asks did not answer (503: starting, restarting or down).
 */
export function retryAfterSeconds(error: unknown): number | undefined {
  if (error instanceof GatewayError && error.retryAfterSeconds) return error.retryAfterSeconds;
  return error instanceof RpcCallError && error.code === 'unavailable' ? 1 : undefined;
}

/** An error's code, detail, issues and (when it says) status: shared with the OpenAI-shaped filter. */
export function classifyError(error: unknown): { code: ProblemCode; detail: string; issues?: Issue[]; status?: number } {
  if (error instanceof GatewayError || error instanceof RpcCallError) {
    return { code: error.code, detail: error.message, ...(error.issues ? { issues: error.issues } : {}) };
  }
  if (error instanceof ZodError) {
    return {
      code: 'invalid_argument',
      detail: `the request has ${error.issues.length} problem(s)`,
      issues: error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })),
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const code = (Object.keys(STATUS) as ProblemCode[]).find((c) => STATUS[c] === status) ?? (status >= 500 ? 'internal' : 'invalid_argument');
    return { code, detail: error.message, status };
  }
  const fastifyCode = (error as { code?: string; statusCode?: number })?.code;
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return { code: 'payload_too_large', detail: 'the request body is too large' };
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { code: 'unsupported_media_type', detail: 'send application/json or application/yaml' };
  const statusCode = (error as { statusCode?: number })?.statusCode;
  if (statusCode && statusCode >= 400 && statusCode < 500) {
    return { code: 'invalid_argument', detail: (error as Error).message, status: statusCode };
  }
  return { code: 'internal', detail: 'an unexpected error occurred' };
}
