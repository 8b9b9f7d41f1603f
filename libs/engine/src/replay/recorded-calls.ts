import { createHash } from 'node:crypto';
import type { CallAnswer, CallRequest, RecordedCall, ReplayCall, ReplayJob, StepGenerated, StepVerified } from '@trellis/contracts';
import type { RunRecord, RunSnapshot, StepRecord } from '../run/run-record';
import { getOwn } from '../util/records';
import { canonicalJson } from '../spec/spec-hash';
import { conversationText, textDiff } from './text-diff';

/**
 * The recording of a run's calls, and answering a replay's calls from it: what a call is
 * recorded as, which recorded calls a replayed job carries, and whether a new request matches
 * one of them. A request is identified by the sha256 of its canonical JSON (keys sorted), so
 * two requests match exactly when they would send the same model the same messages with the
 * same parameters and response_format (or a tool the same arguments).
 */

/** The hash a recorded answer is matched by. */
export function requestHash(request: CallRequest): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/**
 * What a result the run applied adds to its recording (nothing when the run does not record):
 * a generation's call, or a verdict's judge calls. `before` is the run as the result found it.
 */
export function callsToRecord(
  before: RunSnapshot,
  input: { type: 'generated'; result: StepGenerated } | { type: 'verified'; result: StepVerified } | { type: string },
  now: Date,
): RecordedCall[] {
  if (!before.run.recording || (input.type !== 'generated' && input.type !== 'verified') || !('result' in input)) return [];
  const step = getOwn(before.steps, input.result.stepId);
  if (!step) return [];
  if (input.type === 'verified') return recordedJudgeCallsOf(step, input.result as StepVerified, now);
  const call = recordedCallOf(step, input.result as StepGenerated);
  return call ? [call] : [];
}

/**
 * The call a `step.generated` result records, or undefined when it carries no request (an
 * older executor) or the step is not the one it belongs to. `step` is the step as it stood
 * before the result (the round of its verification loop it answers).
 */
export function recordedCallOf(step: Pick<StepRecord, 'iterations'>, e: StepGenerated): RecordedCall | undefined {
  if (!e.request) return undefined;
  const request: CallRequest = e.request.kind === 'model' ? { ...e.request, messages: e.messages } : e.request;
  const answer: CallAnswer = {
    output: e.output,
    ...(e.structured !== undefined ? { structured: e.structured } : {}),
    model: e.model,
    usage: e.usage,
    finishReason: e.finishReason,
  };
  return { stepId: e.stepId, attempt: e.attempt, iteration: roundOf(step, e.attempt), call: 'generate', request, answer, at: e.finishedAt };
}

/** The judges' calls a `step.verified` verdict records (none from an older verifier), at `at`. */
export function recordedJudgeCallsOf(step: Pick<StepRecord, 'iterations'>, e: StepVerified, at: Date): RecordedCall[] {
  const iteration = e.iteration ?? roundOf(step, e.attempt);
  return (e.calls ?? []).map((c) => ({ stepId: e.stepId, attempt: e.attempt, iteration, call: c.call, request: c.request, answer: c.answer, at: at.toISOString() }));
}

function roundOf(step: Pick<StepRecord, 'iterations'>, attempt: number): number {
  return step.iterations.find((r) => r.attempt === attempt)?.iteration ?? 1;
}

/**
 * What a replayed step's job (`generate`) or verification job (`judge`) carries: the source's
 * answers to those calls for this step and round, oldest first (several when the source
 * resumed the step), in `recorded` or `recorded_else_live` mode. A live replay, or a run that
 * is no replay, carries nothing.
 */
export function replayJobOf(run: Pick<RunRecord, 'source' | 'replayCalls'>, stepId: string, iteration: number, of: 'generate' | 'judge' = 'generate'): ReplayJob | undefined {
  const mode = run.source?.mode;
  if (mode === undefined || mode === 'live') return undefined;
  const calls: ReplayCall[] = run.replayCalls
    .filter((c) => c.stepId === stepId && c.iteration === iteration && (of === 'generate' ? c.call === 'generate' : c.call.startsWith('judge.')))
    .map((c) => ({ hash: requestHash(c.request), request: c.request, answer: c.answer }));
  return { mode, calls };
}

/** The recorded answer to this exact request (the newest, if the source made it more than once), or undefined. */
export function matchRecordedCall(job: ReplayJob, request: CallRequest): ReplayCall | undefined {
  const hash = requestHash(request);
  return job.calls.findLast((c) => c.hash === hash);
}

/**
 * Why a request found no recorded answer, for a person: a unified diff from the recorded
 * request (the newest of the step's round) to the new one — model, parameters, then each
 * message as lines — or that nothing was recorded for the step's round at all.
 */
export function replayMissReason(job: ReplayJob, request: CallRequest, where: { stepId: string; iteration: number }): string {
  const recorded = job.calls.at(-1);
  const round = where.iteration > 1 ? ` round ${where.iteration}` : '';
  if (!recorded) return `the source run recorded no call for step "${where.stepId}"${round} (it did not run, failed, or its project does not record calls)`;
  const { patch } = textDiff('recorded', 'replayed', readable(recorded.request), readable(request));
  return `the request of step "${where.stepId}"${round} differs from the recorded one:\n${patch.trimEnd()}`;
}

/** The request as a person reads it: the model and its parameters, then each message as a block of its own lines. */
function readable(request: CallRequest): string {
  if (request.kind === 'tool') return `tool: ${request.tool}\narguments: ${JSON.stringify(JSON.parse(canonicalJson(request.arguments ?? null)), null, 2)}\n`;
  const head = [`model: ${request.model}`, `params: ${canonicalJson(request.params)}`];
  if (request.responseFormat) head.push(`response_format: ${canonicalJson(request.responseFormat)}`);
  return `${head.join('\n')}\n${conversationText(request.messages)}`;
}
