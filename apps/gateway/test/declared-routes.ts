import 'reflect-metadata';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { GATEWAY_CONTROLLERS } from '../src/gateway.module';

/** A route a gateway controller declares: `GET /v1/runs/{id}`, with its handler. */
export interface DeclaredRoute {
  method: string;
  /** OpenAPI style: `{param}`, and `{path}` for a trailing wildcard. */
  path: string;
  handler: (...args: unknown[]) => unknown;
}

/** Every route the gateway's controllers declare, read from Nest's metadata. */
export function declaredRoutes(): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  for (const controller of GATEWAY_CONTROLLERS) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype).filter((n) => n !== 'constructor')) {
      const handler = (controller.prototype as unknown as Record<string, unknown>)[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler);
      if (path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]!;
      const full = `/${[base, String(path)].filter((p) => p && p !== '/').join('/')}`
        .replace(/:(\w+)/g, '{$1}')
        .replace(/\*$/, '{path}');
      routes.push({ method, path: full, handler: handler as DeclaredRoute['handler'] });
    }
  }
  return routes;
}
