import { SetMetadata } from '@nestjs/common';
import type { AuditAction } from '@trellis/contracts';

/** What a handler's audit record can be built from: its path parameters, its body and what it answered. */
export interface AuditedCall {
  params: Record<string, string | undefined>;
  body: unknown;
  /** The handler's answer; undefined when it failed. */
  result: unknown;
}

/** How a route is audited: an action and how to name its resource, or why it changes nothing. */
export type AuditSpec = { action: AuditAction; resource: (call: AuditedCall) => string | undefined } | { notAudited: string };

export const AUDIT_METADATA = 'trellis:audit';

/**
 * Records every call of this handler in the audit trail (AuditInterceptor): `action`, and the
 * resource `resource` names (`<kind>/<id>`), from the parameters, the body or the answer.
 * Every non-GET route carries this or `NotAudited`; audited-routes.spec.ts fails otherwise.
 */
export const Audited = (action: AuditAction, resource: (call: AuditedCall) => string | undefined) => SetMetadata(AUDIT_METADATA, { action, resource } satisfies AuditSpec);

/** A non-GET route that changes nothing (compiling, rendering a preview): says why it is not audited. */
export const NotAudited = (reason: string) => SetMetadata(AUDIT_METADATA, { notAudited: reason } satisfies AuditSpec);

/** `<kind>/<id>` when the id is a non-empty string (a value from a body or an answer may be anything). */
export function resourceOf(kind: string, id: unknown): string | undefined {
  return typeof id === 'string' && id.length > 0 ? `${kind}/${id}` : undefined;
}

/** A field of an object (a body or an answer), when there is one. */
export function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[name] : undefined;
}
