/**
 * Message ids (`Nats-Msg-Id`, the CloudEvents `id`): built here and nowhere else. A work item
 * or a step result has one id per step attempt, so a message published twice (a relay
 * restarted between publish and mark, an executor redelivered after publishing) is stored
 * once by JetStream's dedupe window and applied once by its consumer. A planner event's id is
 * the run's change sequence and its place in that change: unique, and the same when a change
 * that failed to commit is applied again.
 */
export const messageIds = {
  stepReady: (runId: string, stepId: string, attempt: number) => `step-ready.${runId}.${stepId}.${attempt}`,
  verifyRequested: (runId: string, stepId: string, attempt: number) => `verify.${runId}.${stepId}.${attempt}`,
  productsRequested: (runId: string, version: number) => `products.${runId}.${version}`,
  admissionRequested: (runId: string, version: number) => `admission.${runId}.${version}`,
  experimentOutcome: (runId: string, version: number) => `experiment.${runId}.${version}`,
  stepGenerated: (runId: string, stepId: string, attempt: number) => `step-generated.${runId}.${stepId}.${attempt}`,
  /** A step the executor gives up on. */
  stepFailed: (runId: string, stepId: string, attempt: number) => `step-failed.${runId}.${stepId}.${attempt}`,
  /** A step the verifier could not judge (distinct from the executor's, which may exist for the same attempt). */
  verificationFailed: (runId: string, stepId: string, attempt: number) => `step-failed.${runId}.${stepId}.${attempt}.verify`,
  stepVerified: (runId: string, stepId: string, attempt: number) => `step-verified.${runId}.${stepId}.${attempt}`,
  /** `delivery` and `seq` number the progress of one delivery: a redelivery restarts under new ids. */
  stepProgress: (runId: string, stepId: string, attempt: number, delivery: number, seq: number) => `step-progress.${runId}.${stepId}.${attempt}.${delivery}.${seq}`,
  /** The `index`-th event of the run's change number `version`. */
  runEvent: (runId: string, version: number, index: number) => `${runId}.${version}.${index}`,
  /** A message a consumer gave up on, by its place in its stream: dead-lettered once per consumer however often the settlement is retried. */
  deadLetter: (consumer: string, stream: string, sequence: number) => `dlq:${consumer}:${stream}:${sequence}`,
} as const;
