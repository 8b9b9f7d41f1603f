import { z } from 'zod';
import { nameSchema } from './names';

/**
 * A namespace isolates one environment (or one test file) on a shared NATS: every subject,
 * stream and durable consumer name carries it.
 */
export const Namespace = nameSchema();
export type Namespace = z.infer<typeof Namespace>;

/** Pool names become subject tokens: keep them to one token. */
export const PoolName = nameSchema();

export const DEFAULT_POOL = 'default';

const upper = (ns: string) => ns.toUpperCase().replace(/-/g, '_');

/** Subject and stream names for one namespace; the single source of every name on the wire. */
export function subjects(ns: string) {
  Namespace.parse(ns);
  const root = `trellis.${ns}`;
  return {
    root,
    /** `trellis.<ns>.events.<entity>.<change>.<runId>`: the run id is last so one wildcard follows a run. */
    event: (entity: string, change: string, runId: string) => `${root}.events.${entity}.${change}.${runId}`,
    /** The run id of an `event` subject: its last token (run ids are UUIDs, no dots). */
    runIdOfEvent: (subject: string) => subject.slice(subject.lastIndexOf('.') + 1),
    eventsOfType: (entity: string, change: string) => `${root}.events.${entity}.${change}.*`,
    eventsOfRun: (runId: string) => `${root}.events.*.*.${runId}`,
    allEvents: `${root}.events.>`,
    stepWork: (pool: string) => `${root}.work.step.${pool}`,
    allStepWork: `${root}.work.step.*`,
    verifyWork: `${root}.work.verify`,
    /** The planner's own queue: runs whose products are to be written. */
    productsWork: `${root}.work.products`,
    /** The planner's own queue: projects whose queued runs may start. */
    admissionWork: `${root}.work.admission`,
    /** The template registry's queue: outcomes of runs in experiments. */
    experimentWork: `${root}.work.experiments`,
    /**
     * The planner's queue of step results (`step.generated`, `step.verified`, `step.failed`) that
     * no planner took when they were handed over directly (ADR 0017).
     */
    resultWork: (change: 'generated' | 'verified' | 'failed') => `${root}.work.result.${change}`,
    /** Core-NATS request subject of a work queue's direct hand-off: its consumers answer once they have done the work (ADR 0017). */
    handoff: (workSubject: string) => `${root}.handoff.${workSubject.slice(root.length + 1)}`,
    allWork: `${root}.work.>`,
    deadLetter: (subject: string) => `${root}.dlq.${subject.slice(root.length + 1)}`,
    allDeadLetters: `${root}.dlq.>`,
    rpc: (service: string, method: string) => `${root}.rpc.${service}.${method}`,
    /** Core-NATS broadcast to every executor (cancellation), not persisted. */
    control: (what: string) => `${root}.control.${what}`,
    streams: {
      events: `TRELLIS_${upper(ns)}_EVENTS`,
      work: `TRELLIS_${upper(ns)}_WORK`,
      deadLetters: `TRELLIS_${upper(ns)}_DLQ`,
    },
    /** JetStream object store and KV buckets. */
    buckets: {
      /** Run products, keyed `<runId>/<path>`. */
      products: `TRELLIS_${upper(ns)}_PRODUCTS`,
      /** Shared rate-limit state of every executor replica. */
      rateLimits: `TRELLIS_${upper(ns)}_RATELIMITS`,
      /** Every gateway replica's request buckets, one per API key. */
      requestLimits: `TRELLIS_${upper(ns)}_REQUESTLIMITS`,
      /** The template registry's generation: changed by every change to templates, labels or experiments. */
      registry: `TRELLIS_${upper(ns)}_REGISTRY`,
    },
    /** Durable consumer names: `<app>-<handler>`; NATS durables are per stream, the namespace is in the stream. */
    durable: (app: string, handler: string) => `${app}-${handler}`,
  };
}
export type Subjects = ReturnType<typeof subjects>;

/** Where a step result goes besides the events (ADR 0017): the planner's queue of each kind, and its direct hand-off. */
export function resultQueues(s: Subjects) {
  const of = (change: 'generated' | 'verified' | 'failed') => ({ queue: s.resultWork(change), handoff: s.handoff(s.resultWork(change)) });
  return { generated: of('generated'), verified: of('verified'), failed: of('failed') };
}
