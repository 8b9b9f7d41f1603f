import 'reflect-metadata';
import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';

/** A route a controller declares: `GET /v1/runs/{id}`, with its controller and handler. */
export interface DeclaredRoute {
  method: string;
  /** OpenAPI style: `{param}`, and `{path}` for a trailing wildcard. */
  path: string;
  controller: Type;
  handler: (...args: unknown[]) => unknown;
}

/** Every route the controllers declare, in their order and their methods' order, read from Nest's metadata. */
export function declaredRoutes(controllers: readonly Type[]): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    for (const name of Object.getOwnPropertyNames(controller.prototype).filter((n) => n !== 'constructor')) {
      const handler = (controller.prototype as Record<string, unknown>)[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler);
      if (path === undefined) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]!;
      const full = `/${[base, String(path)].filter((p) => p && p !== '/').join('/')}`
        .replace(/:(\w+)/g, '{$1}')
        .replace(/\*$/, '{path}');
      routes.push({ method, path: full, controller, handler: handler as DeclaredRoute['handler'] });
    }
  }
  return routes;
}
