import { GUARDS_METADATA } from '@nestjs/common/constants';
import { AdminGuard } from '../http/admin.guard';
import { ApiKeyGuard } from '../http/api-key.guard';
import { GATEWAY_CONTROLLERS } from '../gateway.module';
import { declaredRoutes, type DeclaredRoute } from '../openapi/declared-routes';
import { AUDIT_METADATA, type AuditSpec } from './audited';

const specOf = (handler: unknown) => Reflect.getMetadata(AUDIT_METADATA, handler as object) as AuditSpec | undefined;

describe('audited routes', () => {
  const routes = declaredRoutes(GATEWAY_CONTROLLERS);

  it('finds the routes it checks', () => {
    expect(routes.filter((r) => r.method !== 'GET').length).toBeGreaterThan(10);
  });

  it('marks every route that is not a GET @Audited, or @NotAudited with a reason', () => {
    const unmarked = routes.filter((r) => r.method !== 'GET' && specOf(r.handler) === undefined).map((r) => `${r.method} ${r.path}`);
    expect(unmarked).toEqual([]);
  });

  it('audits no GET (reading changes nothing)', () => {
    expect(routes.filter((r) => r.method === 'GET' && specOf(r.handler) !== undefined).map((r) => r.path)).toEqual([]);
  });

  it('audits only routes behind an API key or the admin token, so every record has an actor', () => {
    const guardsOf = (route: DeclaredRoute) => [
      ...((Reflect.getMetadata(GUARDS_METADATA, route.controller) as unknown[]) ?? []),
      ...((Reflect.getMetadata(GUARDS_METADATA, route.handler) as unknown[]) ?? []),
    ];
    const unguarded = routes
      .filter((r) => {
        const spec = specOf(r.handler);
        return spec !== undefined && 'action' in spec;
      })
      .filter((r) => !guardsOf(r).some((g) => g === ApiKeyGuard || g === AdminGuard))
      .map((r) => `${r.method} ${r.path}`);
    expect(unguarded).toEqual([]);
  });

  it('lists what is audited: one action per state-changing route', () => {
    const audited = routes.flatMap((r) => {
      const spec = specOf(r.handler);
      return spec && 'action' in spec ? [`${spec.action} ${r.method} ${r.path}`] : [];
    });
    expect(audited.sort()).toEqual(
      [
        'chat.complete POST /v1/chat/completions',
        'experiment.create POST /v1/experiments',
        'experiment.promote POST /v1/experiments/{id}/promote',
        'experiment.start POST /v1/experiments/{id}/start',
        'experiment.stop POST /v1/experiments/{id}/stop',
        'key.create POST /v1/projects/{id}/keys',
        'key.revoke DELETE /v1/projects/{id}/keys/{keyId}',
        'pipeline.register POST /v1/pipelines',
        'project.create POST /v1/projects',
        'project.update PATCH /v1/projects/{id}',
        'run.cancel POST /v1/runs/{id}/cancel',
        'run.import POST /v1/runs/import',
        'run.replay POST /v1/runs/{id}/replay',
        'run.resume POST /v1/runs/{id}/resume',
        'run.start POST /v1/runs',
        'template.create POST /v1/templates',
        'template.label PUT /v1/templates/{name}/labels/{label}',
      ].sort(),
    );
  });
});
