import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { PlannerRpc } from '@trellis/contracts';
import { OnRpc, type RpcRequest } from '@trellis/runtime';
import { PipelineService } from '../pipelines/pipeline.service';
import { ReplayService } from '../runs/replay.service';
import { RunService, type NewRunRequest } from '../runs/run.service';

/**
 * The planner's request/reply surface: parse (done by the transport against the method's
 * contract), call one service method, return. `ping` is served after every other method.
 */
@Controller()
export class PlannerRpcServer {
  constructor(
    private readonly pipelines: PipelineService,
    private readonly runs: RunService,
    private readonly replays: ReplayService,
  ) {}

  @OnRpc(PlannerRpc.validatePipeline)
  validatePipeline(@Payload() r: RpcRequest<typeof PlannerRpc.validatePipeline>) {
    return this.pipelines.validate(r.source, r.overrideAlignment, scopeOf(r));
  }

  @OnRpc(PlannerRpc.registerPipeline)
  registerPipeline(@Payload() r: RpcRequest<typeof PlannerRpc.registerPipeline>) {
    return this.pipelines.register(scopeOf(r), r.source, r.overrideAlignment);
  }

  @OnRpc(PlannerRpc.listPipelines)
  listPipelines(@Payload() r: RpcRequest<typeof PlannerRpc.listPipelines>) {
    return this.pipelines.list(r.project);
  }

  @OnRpc(PlannerRpc.listPipelineVersions)
  listPipelineVersions(@Payload() r: RpcRequest<typeof PlannerRpc.listPipelineVersions>) {
    return this.pipelines.versions(r.project, r.name);
  }

  @OnRpc(PlannerRpc.getPipeline)
  getPipeline(@Payload() r: RpcRequest<typeof PlannerRpc.getPipeline>) {
    return this.pipelines.get(r.project, r.name, r.version);
  }

  @OnRpc(PlannerRpc.promotePipeline)
  promotePipeline(@Payload() r: RpcRequest<typeof PlannerRpc.promotePipeline>) {
    return this.pipelines.promote(r.project, r.name, r.variant);
  }

  @OnRpc(PlannerRpc.startRun)
  startRun(@Payload() r: RpcRequest<typeof PlannerRpc.startRun>) {
    return this.runs.start({
      ...newRunRequest(r),
      inputs: r.inputs,
      ...(r.subject !== undefined ? { subject: r.subject } : {}),
      ...(r.feature !== undefined ? { feature: r.feature } : {}),
      ...(r.stream !== undefined ? { stream: r.stream } : {}),
      ...(r.overrideAlignment !== undefined ? { overrideAlignment: r.overrideAlignment } : {}),
      ...(r.pipeline !== undefined ? { pipeline: r.pipeline } : {}),
      ...(r.source !== undefined ? { source: r.source } : {}),
    });
  }

  @OnRpc(PlannerRpc.replayRun)
  replayRun(@Payload() r: RpcRequest<typeof PlannerRpc.replayRun>) {
    return this.replays.replay({
      ...newRunRequest(r),
      runId: r.runId,
      mode: r.mode,
      ...(r.from !== undefined ? { from: r.from } : {}),
      ...(r.overrides !== undefined ? { overrides: r.overrides } : {}),
    });
  }

  @OnRpc(PlannerRpc.exportRun)
  exportRun(@Payload() r: RpcRequest<typeof PlannerRpc.exportRun>) {
    return this.replays.export(r.project, r.runId);
  }

  @OnRpc(PlannerRpc.importRun)
  importRun(@Payload() r: RpcRequest<typeof PlannerRpc.importRun>) {
    return this.replays.import(r.project, r.file, r.actor);
  }

  @OnRpc(PlannerRpc.getRun)
  getRun(@Payload() r: RpcRequest<typeof PlannerRpc.getRun>) {
    return this.runs.get(r.project, r.runId);
  }

  @OnRpc(PlannerRpc.usage)
  usage(@Payload() r: RpcRequest<typeof PlannerRpc.usage>) {
    return this.runs.usage(r.project);
  }

  @OnRpc(PlannerRpc.projectSettings)
  projectSettings(@Payload() r: RpcRequest<typeof PlannerRpc.projectSettings>) {
    return this.runs.projectSettings(r.project, { maxRunning: r.maxRunning, weight: r.weight, budget: r.budget });
  }

  @OnRpc(PlannerRpc.cancelRun)
  cancelRun(@Payload() r: RpcRequest<typeof PlannerRpc.cancelRun>) {
    return this.runs.cancel(r.project, r.runId);
  }

  @OnRpc(PlannerRpc.resumeRun)
  resumeRun(@Payload() r: RpcRequest<typeof PlannerRpc.resumeRun>) {
    return this.runs.resume(r.project, r.runId);
  }

  @OnRpc(PlannerRpc.listRuns)
  listRuns(@Payload() r: RpcRequest<typeof PlannerRpc.listRuns>) {
    return this.runs.list({
      project: r.project,
      limit: r.limit,
      ...(r.before !== undefined ? { before: r.before } : {}),
      ...(r.status !== undefined ? { status: r.status } : {}),
      ...(r.pipeline !== undefined ? { pipeline: r.pipeline } : {}),
      ...(r.createdFrom !== undefined ? { createdFrom: new Date(r.createdFrom) } : {}),
      ...(r.createdTo !== undefined ? { createdTo: new Date(r.createdTo) } : {}),
      ...(r.id !== undefined ? { id: r.id } : {}),
      ...(r.input !== undefined ? { input: r.input } : {}),
    });
  }

  @OnRpc(PlannerRpc.ping)
  ping() {
    return {};
  }
}

/** The project, and the feature whose template overrides apply. */
function scopeOf(r: { project: string; feature?: string | undefined }): { project: string; feature?: string } {
  return { project: r.project, ...(r.feature !== undefined ? { feature: r.feature } : {}) };
}

/** What a start and a replay say alike of their new run: the project's settings, its priority, who asked. */
function newRunRequest(r: RpcRequest<typeof PlannerRpc.startRun> | RpcRequest<typeof PlannerRpc.replayRun>): NewRunRequest {
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
