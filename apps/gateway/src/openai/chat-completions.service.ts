import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DEFAULT_PRIORITY,
  PlannerRpc,
  StepProgress,
  type ChatCompletion,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
  type CompletionUsage,
  type PipelineView,
  type RunView,
} from '@trellis/contracts';
import { RpcCallError, RpcClient } from '@trellis/messaging';
import { logger } from '@trellis/telemetry';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config';
import { GatewayError } from '../http/gateway.errors';
import { SseStream } from '../http/sse-stream';
import type { Principal } from '../projects/project.service';
import { RunEventFeed } from '../runs/run-event-feed';
import { RunStarterService } from '../runs/run-starter.service';
import { answerStep, conversationInputs } from './chat-mapping';
import { openAiErrorBody } from './openai-error.filter';
import { detectUtilityTask } from './utility-tasks';

const ZERO_USAGE: CompletionUsage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };

/** A chat completion is a run of the pipeline named by `model` (docs/openai-compatible.md). */
@Injectable()
export class ChatCompletionsService {
  private readonly log = logger('chat-completions');

  constructor(
    private readonly rpc: RpcClient,
    private readonly starter: RunStarterService,
    private readonly feed: RunEventFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async complete(principal: Principal, request: ChatCompletionRequest, reply: FastifyReply): Promise<ChatCompletion | undefined> {
    const pipeline = await this.pipeline(principal.project, request.model);
    const chore = detectUtilityTask(request.messages);
    if (chore) {
      const id = `chatcmpl-task-${chore.task}`;
      if (!request.stream) return completion(id, request.model, chore.content, ZERO_USAGE);
      const sse = new SseStream(reply, this.config.GATEWAY_SSE_HEARTBEAT_MS);
      const chunks = new ChunkWriter(sse, id, request.model);
      chunks.content(chore.content);
      chunks.finish(request.stream_options?.include_usage ? ZERO_USAGE : undefined);
      return undefined;
    }

    const inputs = conversationInputs(pipeline.spec, request.messages);
    const answer = answerStep(pipeline.spec, pipeline.plan.order);
    // `user` (the end user, in OpenAI's API) is what experiment assignment sticks to.
    // A streaming client gets the answer step's tokens as they come: the run streams its model calls.
    const { run } = await this.starter.start(principal, { pipeline: pipeline.name, inputs, priority: DEFAULT_PRIORITY, ...(request.user ? { subject: request.user } : {}), ...(request.stream ? { stream: true } : {}) });
    void reply.header('x-trellis-run-id', run.id);
    const id = `chatcmpl-${run.id}`;

    if (!request.stream) {
      // A client that leaves only stops this wait: the run goes on.
      const left = new AbortController();
      reply.raw.once('close', () => left.abort());
      const done = await this.waitForEnd(principal.project, run.id, left.signal);
      const step = done.steps.find((s) => s.id === answer);
      if (done.status !== 'succeeded' || step?.output == null) throw runFailure(done);
      return completion(id, request.model, step.output, usageOf(done));
    }

    // Streaming: headers go out now; from here on, errors travel as a data line.
    const sse = new SseStream(reply, this.config.GATEWAY_SSE_HEARTBEAT_MS);
    const chunks = new ChunkWriter(sse, id, request.model);
    try {
      let streamed = '';
      let streamedAttempt = 0;
      for await (const e of this.feed.follow(run.id, { signal: sse.signal })) {
        if (e.envelope.type !== StepProgress.type) continue;
        const progress = StepProgress.data.safeParse(e.envelope.data);
        if (!progress.success || progress.data.stepId !== answer) continue;
        // Deltas of a later attempt cannot retract an earlier one's: stream only the first attempt seen.
        if (streamedAttempt && progress.data.attempt !== streamedAttempt) continue;
        streamedAttempt = progress.data.attempt;
        streamed += progress.data.delta;
        chunks.content(progress.data.delta);
      }
      if (sse.closed) {
        sse.end(); // the client left; the run goes on, the stream's heartbeat stops
        return undefined;
      }
      const done = await this.rpc.call(PlannerRpc.getRun, { project: principal.project, runId: run.id });
      const step = done.steps.find((s) => s.id === answer);
      if (done.status !== 'succeeded' || step?.output == null) throw runFailure(done);
      if (!streamed) chunks.content(step.output);
      else if (step.output.startsWith(streamed) && step.output.length > streamed.length) chunks.content(step.output.slice(streamed.length));
      chunks.finish(request.stream_options?.include_usage ? usageOf(done) : undefined);
    } catch (err) {
      this.log.warn({ err, runId: run.id }, 'chat completion stream ended with an error');
      chunks.fail(err);
    }
    return undefined;
  }

  async models(project: string) {
    const { items } = await this.rpc.call(PlannerRpc.listPipelines, { project });
    return { object: 'list' as const, data: items.map((p) => modelObject(project, p.name, p.createdAt)) };
  }

  async model(project: string, name: string) {
    const p = await this.pipeline(project, name);
    return modelObject(project, p.name, p.createdAt);
  }

  private async pipeline(project: string, name: string): Promise<PipelineView> {
    try {
      return await this.rpc.call(PlannerRpc.getPipeline, { project, name });
    } catch (err) {
      if (err instanceof RpcCallError && err.code === 'not_found') {
        throw new GatewayError('not_found', `The model '${name}' does not exist: no pipeline of that name is registered in this project`, [
          { path: ['model'], message: 'unknown model' },
        ]);
      }
      throw err;
    }
  }

  private async waitForEnd(project: string, runId: string, signal: AbortSignal): Promise<RunView> {
    for await (const _ of this.feed.follow(runId, { signal })) {
      // run.completed ends the feed
    }
    return this.rpc.call(PlannerRpc.getRun, { project, runId });
  }
}

function modelObject(project: string, name: string, createdAt: string) {
  return { id: name, object: 'model' as const, created: Math.floor(Date.parse(createdAt) / 1000), owned_by: project };
}

function usageOf(run: RunView): CompletionUsage {
  const { inputTokens, outputTokens } = run.usage;
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
}

function runFailure(run: RunView): Error {
  return new RunFailedError(`the pipeline run ${run.id} ${run.status}${run.error ? `: ${run.error.message}` : ''}`);
}

export class RunFailedError extends Error {
  readonly code = 'run_failed';
}

function completion(id: string, model: string, content: string, usage: CompletionUsage): ChatCompletion {
  return {
    id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: null,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
    usage,
  };
}

/** `chat.completion.chunk`s: the role on the first, `finish_reason` only on the last, then `[DONE]`. */
class ChunkWriter {
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;

  constructor(
    private readonly sse: SseStream,
    private readonly id: string,
    private readonly model: string,
  ) {}

  content(text: string): void {
    if (!text) return;
    this.chunk({ ...(this.started ? {} : { role: 'assistant' }), content: text }, null);
    this.started = true;
  }

  finish(usage: CompletionUsage | undefined): void {
    if (!this.started) this.chunk({ role: 'assistant', content: '' }, null);
    this.chunk({}, 'stop', usage ? null : undefined);
    if (usage) this.write({ ...this.base(), choices: [], usage });
    this.done();
  }

  fail(err: unknown): void {
    this.sse.event({ data: JSON.stringify(openAiErrorBody(err).body) });
    this.done();
  }

  private chunk(delta: ChatCompletionChunk['choices'][number]['delta'], finish: 'stop' | null, usage?: null): void {
    this.write({ ...this.base(), choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...(usage === null ? { usage: null } : {}) });
  }

  private base() {
    return { id: this.id, object: 'chat.completion.chunk' as const, created: this.created, model: this.model, system_fingerprint: null };
  }

  private write(chunk: ChatCompletionChunk): void {
    this.sse.event({ data: JSON.stringify(chunk) });
  }

  private done(): void {
    this.sse.event({ data: '[DONE]' });
    this.sse.end();
  }
}
