import { HealthController } from '@trellis/runtime';
import { ApiRoute, type ApiRouteDoc } from '../openapi/api-route';

/**
 * RuntimeModule's `/healthz` and `/readyz`, documented here rather than beside their `@Get`s:
 * the controller lives in a lib every service shares, and only the gateway publishes an API
 * document. Applies `@ApiRoute` to its handlers as the decorator would.
 */
function documented(docs: Record<keyof HealthController, ApiRouteDoc>): typeof HealthController {
  for (const [name, doc] of Object.entries(docs)) {
    ApiRoute(doc)(HealthController.prototype, name, Object.getOwnPropertyDescriptor(HealthController.prototype, name)!);
  }
  return HealthController;
}

export const DocumentedHealthController = documented({
  healthz: { tag: 'health', summary: 'Liveness', responses: { 200: { description: 'the process answers', schema: 'Health' } } },
  readyz: {
    tag: 'health',
    summary: 'Readiness: NATS and PostgreSQL answer, and the planner and template registry have answered',
    description:
      'Not ready until the planner and the template registry have each answered once (a request right after a 200 is answered, not refused); their later outages do not make the gateway unready: requests then get 503 with `Retry-After`. Also not ready while NATS or PostgreSQL does not answer, and from the first moment of a drain.',
    responses: { 200: { description: 'ready', schema: 'Readiness' }, 503: { description: 'not ready', schema: 'Readiness' } },
  },
});
