import { z } from 'zod';

/** Every event type is `dev.trellis.<entity>.<change>`. */
export const EVENT_TYPE_PREFIX = 'dev.trellis.';

/**
 * CloudEvents 1.0 envelope in structured mode (JSON body); `traceparent` travels in the
 * NATS headers, per the distributed-tracing extension.
 */
export const CloudEventEnvelope = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().startsWith(EVENT_TYPE_PREFIX),
  subject: z.string().optional(),
  time: z.string(),
  datacontenttype: z.literal('application/json').default('application/json'),
  data: z.unknown(),
});
export type CloudEventEnvelope = z.infer<typeof CloudEventEnvelope>;

/**
 * A contract pairs an event type with the zod schema of its data. `define` keeps the two
 * together so that a consumer validating an envelope gets a typed `data`.
 */
export interface EventContract<T extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly entity: string;
  readonly change: string;
  readonly data: T;
}

export function defineEvent<T extends z.ZodType>(entity: string, change: string, data: T): EventContract<T> {
  return { type: `${EVENT_TYPE_PREFIX}${entity}.${change}`, entity, change, data };
}

export type EventData<C extends EventContract> = z.infer<C['data']>;
