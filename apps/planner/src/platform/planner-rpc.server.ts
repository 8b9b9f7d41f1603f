import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PlannerRpc, type RpcMethod } from '@trellis/contracts';
import { RpcHost } from '@trellis/runtime';
import type { z } from 'zod';
import { PipelineService } from '../pipelines/pipeline.service';
import { ReplayService } from '../runs/replay.service';
import { RunService, type NewRunRequest } from '../runs/run.service';

/** The planner's request/reply surface: parse (done by serveRpc), call one service method, return. */
@Injectable()
export class PlannerRpcServer implements OnApplicationBootstrap {
  constructor(
    private readonly rpc: RpcHost,
    private readonly pipelines: PipelineService,
    private readonly runs: RunService,
    private readonly replays: ReplayService,
  ) {}

  onApplicationBootstrap(): void {
    this.serve(PlannerRpc.validatePipeline, (r) => this.pipelines.validate(r.source, r.overrideAlignment, scopeOf(r)));
    this.serve(PlannerRpc.registerPipeline, (r) => this.pipelines.register(scopeOf(r), r.source, r.overrideAlignment));
    this.serve(PlannerRpc.listPipelines, (r) => this.pipelines.list(r.project));
    this.serve(PlannerRpc.listPipelineVersions, (r) => this.pipelines.versions(r.project, r.name));
    this.serve(PlannerRpc.getPipeline, (r) => this.pipelines.get(r.project, r.name, r.version));
    this.serve(PlannerRpc.promotePipeline, (r) => this.pipelines.promote(r.project, r.name, r.variant));
    this.serve(PlannerRpc.startRun, (r) =>
      this.runs.start({
        ...newRunRequest(r),
        inputs: r.inputs,
        ...(r.subject !== undefined ? { subject: r.subject } : {}),
        ...(r.feature !== undefined ? { feature: r.feature } : {}),
        ...(r.stream !== undefined ? { stream: r.stream } : {}),
        ...(r.overrideAlignment !== undefined ? { overrideAlignment: r.overrideAlignment } : {}),
        ...(r.pipeline !== undefined ? { pipeline: r.pipeline } : {}),
        ...(r.source !== undefined ? { source: r.source } : {}),
      }),
    );
    this.serve(PlannerRpc.replayRun, (r) =>
      this.replays.replay({
        ...newRunRequest(r),
        runId: r.runId,
        mode: r.mode,
        ...(r.from !== undefined ? { from: r.from } : {}),
        ...(r.overrides !== undefined ? { overrides: r.overrides } : {}),
      }),
    );
    this.serve(PlannerRpc.exportRun, (r) => this.replays.export(r.project, r.runId));
    this.serve(PlannerRpc.importRun, (r) => this.replays.import(r.project, r.file, r.actor));
    this.serve(PlannerRpc.getRun, (r) => this.runs.get(r.project, r.runId));
    this.serve(PlannerRpc.usage, (r) => this.runs.usage(r.project));
    this.serve(PlannerRpc.projectSettings, (r) => this.runs.projectSettings(r.project, { maxRunning: r.maxRunning, weight: r.weight, budget: r.budget }));
    this.serve(PlannerRpc.cancelRun, (r) => this.runs.cancel(r.project, r.runId));
    this.serve(PlannerRpc.resumeRun, (r) => this.runs.resume(r.project, r.runId));
    this.serve(PlannerRpc.listRuns, (r) =>
      this.runs.list({
        project: r.project,
        limit: r.limit,
        ...(r.before !== undefined ? { before: r.before } : {}),
        ...(r.status !== undefined ? { status: r.status } : {}),
        ...(r.pipeline !== undefined ? { pipeline: r.pipeline } : {}),
        ...(r.createdFrom !== undefined ? { createdFrom: new Date(r.createdFrom) } : {}),
        ...(r.createdTo !== undefined ? { createdTo: new Date(r.createdTo) } : {}),
        ...(r.id !== undefined ? { id: r.id } : {}),
        ...(r.input !== undefined ? { input: r.input } : {}),
      }),
    );
    // Last: an answer to ping means every method above is served.
    this.serve(PlannerRpc.ping, () => Promise.resolve({}));
  }

  private serve<M extends RpcMethod>(method: M, handler: (request: z.infer<M['request']>) => Promise<z.input<M['response']>>): void {
    this.rpc.serve(method, handler);
  }
}

/** The project, and the feature whose template overrides apply. */
function scopeOf(r: { project: string; feature?: string | undefined }): { project: string; feature?: string } {
  return { project: r.project, ...(r.feature !== undefined ? { feature: r.feature } : {}) };
}

/** What a start and a replay say alike of their new run: the project's settings, its priority, who asked. */
function newRunRequest(r: z.infer<typeof PlannerRpc.startRun.request> | z.infer<typeof PlannerRpc.replayRun.request>): NewRunRequest {
  return {
    project: r.project,
    priority: r.priority,
    ...(r.maxRunning !== undefined ? { maxRunning: r.maxRunning } : {}),
    ...(r.weight !== undefined ? { weight: r.weight } : {}),
    ...(r.budget !== undefined ? { budget: r.budget } : {}),
    ...(r.recording !== undefined ? { recording: r.recording } : {}),
    ...(r.actor !== undefined ? { actor: r.actor } : {}),
  };
}
