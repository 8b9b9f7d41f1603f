import { SetMetadata } from '@nestjs/common';
import type { z } from 'zod';
import type { SchemaName } from './schemas';

/**
 * A route's documentation, declared on its handler beside `@Get`/`@Post`: the method and path
 * come from Nest's own metadata, the path parameters from the path, the security from the
 * route's guards (openapi.document.ts).
 */
export interface ApiRouteDoc {
  tag: string;
  summary: string;
  description?: string;
  headers?: Array<{ name: string; description: string }>;
  /** The query's zod schema: each of its properties is a query parameter. */
  query?: z.ZodType;
  /** The JSON body's named schema; `yaml`: a YAML text is accepted as well (a pipeline). */
  body?: { schema: SchemaName; yaml?: boolean };
  /** Success status → a named schema, or only a content type (a stream, a file, a page). */
  responses: Record<number, { description: string; schema?: SchemaName; contentType?: string }>;
  /** Errors in the OpenAI shape rather than problem+json. */
  openAiErrors?: boolean;
}

export const API_ROUTE_METADATA = 'trellis:api-route';

/** Documents this route in the OpenAPI document; a route without it fails the document's build. */
export const ApiRoute = (doc: ApiRouteDoc) => SetMetadata(API_ROUTE_METADATA, doc);

export const apiRouteOf = (handler: object) => Reflect.getMetadata(API_ROUTE_METADATA, handler) as ApiRouteDoc | undefined;
