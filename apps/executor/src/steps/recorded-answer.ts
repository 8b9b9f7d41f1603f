import type { CallAnswer, CallRequest, StepReady } from '@trellis/contracts';
import { matchRecordedCall, replayMissReason } from '@trellis/engine';
import { StepError } from './step.errors';

/**
 * A replayed job's answer to `request` from the source run's recording (docs/replay.md): the
 * recorded answer when the request is exactly one the source made for this step and round;
 * otherwise, in `recorded` mode, the step fails with `replay_miss` and the difference between
 * the recorded and the new request; in `recorded_else_live` mode, or for a job that is no
 * replay, undefined: the call is made.
 */
export function recordedAnswer(job: StepReady, request: CallRequest): CallAnswer | undefined {
  if (!job.replay) return undefined;
  const recorded = matchRecordedCall(job.replay, request);
  if (recorded) return recorded.answer;
  if (job.replay.mode === 'recorded') throw StepError.final('replay_miss', replayMissReason(job.replay, request, { stepId: job.stepId, iteration: job.iteration ?? 1 }));
  return undefined;
}
