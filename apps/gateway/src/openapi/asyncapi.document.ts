import { stringify } from 'yaml';
import { z } from 'zod';
import { CloudEventEnvelope, EVENT_CONTRACTS, StepReady, subjects, VerifyRequested, type EventContract } from '@trellis/contracts';

const NS = 'nsplaceholder';

/** Where a contract travels: work items on their queue, everything else on the events stream. */
function address(contract: EventContract): string {
  const s = subjects(NS);
  const subject =
    contract.type === StepReady.type ? s.stepWork('{pool}') : contract.type === VerifyRequested.type ? s.verifyWork : s.event(contract.entity, contract.change, '{runId}');
  return subject.replace(NS, '{namespace}');
}

const PARAMETERS: Record<string, { description: string }> = {
  namespace: { description: 'TRELLIS_NAMESPACE of the environment (default `default`)' },
  runId: { description: 'the run the event is about: subscribe to `trellis.<ns>.events.*.*.<runId>` to follow one run' },
  pool: { description: 'the executor pool the step runs on' },
};

/**
 * The AsyncAPI 3.0 document of every event and work item, from `EVENT_CONTRACTS` and the
 * subject names in `libs/contracts`: what `docs/asyncapi.yaml` holds (a test checks they agree).
 */
export function asyncApiDocument() {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const contract of EVENT_CONTRACTS) {
    const key = `${contract.entity}.${contract.change}`;
    const addr = address(contract);
    const params = [...addr.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const envelope = CloudEventEnvelope.extend({ type: z.literal(contract.type), data: contract.data });
    const { $schema: _drop, ...payload } = z.toJSONSchema(envelope, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
    messages[key] = {
      name: contract.type,
      title: key,
      contentType: 'application/json',
      summary: `CloudEvents 1.0 (structured mode) of type ${contract.type}; traceparent in the NATS headers`,
      headers: { type: 'object', properties: { traceparent: { type: 'string' }, 'Nats-Msg-Id': { type: 'string' } } },
      payload,
    };
    channels[key] = {
      address: addr,
      parameters: Object.fromEntries(params.map((p) => [p, PARAMETERS[p] ?? { description: p }])),
      messages: { [key]: { $ref: `#/components/messages/${key}` } },
    };
    operations[`receive.${key}`] = { action: 'receive', channel: { $ref: `#/channels/${key}` }, messages: [{ $ref: `#/channels/${key}/messages/${key}` }] };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Trellis events',
      version: '1.0.0',
      description:
        'Every state change of a run is a CloudEvents 1.0 message on NATS JetStream (DESIGN §4). Within v1 fields are only added, never changed or removed. Generated from libs/contracts by `node dist/apps/gateway/src/openapi/write-docs.js`; do not edit by hand.',
    },
    defaultContentType: 'application/json',
    servers: { nats: { host: 'localhost:4222', protocol: 'nats', description: 'NATS_URL' } },
    channels,
    operations,
    components: { messages },
  };
}

export function asyncApiYaml(): string {
  return `# Generated from libs/contracts (EVENT_CONTRACTS, subjects): node dist/apps/gateway/src/openapi/write-docs.js\n${stringify(asyncApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false })}`;
}
