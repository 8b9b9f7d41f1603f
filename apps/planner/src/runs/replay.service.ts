import { Injectable } from '@nestjs/common';
import type { PipelineSpec, ReplayMode, ReplayOverrides, RunExport, RunView, SpecSource } from '@trellis/contracts';
import { planReplay, replaySnapshot, resolveInputs, specWithModels, type CompiledPipeline } from '@trellis/engine';
import { Database, uuidv7 } from '@trellis/persistence';
import { CompiledPipelines } from '../pipelines/compiled-pipelines';
import { PipelineRepository } from '../pipelines/pipeline.repository';
import { PlannerError } from '../planner.errors';
import { fromRunView, toRunView } from './run.mapper';
import { RunService, type NewRunRequest } from './run.service';
import { RunStore } from './run-store';
import { TemplatePins } from './template-pins';

export interface ReplayRequest extends NewRunRequest {
  runId: string;
  mode: ReplayMode;
  from?: string;
  overrides?: ReplayOverrides & { spec?: SpecSource };
}

/**
 * Replays, forks, exports and imports of runs (docs/replay.md, ADR 0015). A replay is a new
 * run of its project, admitted like any (`RunService.admissible` and `launch`: the budget
 * check, then started or queued), made by the engine from the source: which steps run again
 * and which are carried over (`planReplay`), its template pins (`replayTemplates`), the
 * carried-over state and the recorded answers it pins (`replaySnapshot`). The source is only read.
 */
@Injectable()
export class ReplayService {
  constructor(
    private readonly db: Database,
    private readonly store: RunStore,
    private readonly runs: RunService,
    private readonly compiler: CompiledPipelines,
    private readonly pipelines: PipelineRepository,
    private readonly pins: TemplatePins,
  ) {}

  async replay(request: ReplayRequest): Promise<RunView> {
    const source = await this.store.read(request.project, request.runId);
    if (!source) throw new PlannerError('not_found', `no run with id "${request.runId}"`);
    if (source.run.status === 'running' || source.run.status === 'queued') {
      throw new PlannerError('failed_precondition', `run "${request.runId}" is still ${source.run.status}: replay it once it has finished`);
    }
    const { compiled: before } = await this.runs.pipelineOf(source.run.specHash);
    const overrides = request.overrides ?? {};
    const target = this.targetPipeline(before, overrides);

    const declared = Object.keys(target.spec.inputs);
    const kept = Object.fromEntries(Object.entries(source.run.inputs).filter(([name]) => declared.includes(name)));
    const inputs = resolveInputs(target.spec, { ...kept, ...overrides.inputs });
    if (!inputs.ok) throw new PlannerError('invalid_argument', `the replay's inputs have ${inputs.issues.length} problem(s)`, inputs.issues.map((i) => ({ ...i, path: ['overrides', ...i.path] })));

    await this.runs.admissible(request);
    const pins = await this.pins.pinReplay(target, source.run.templates, overrides.templates, { project: request.project, ...(source.run.subject ? { subject: source.run.subject } : {}) });

    const planned = planReplay({ pipeline: before, snapshot: source }, { pipeline: target, inputs: inputs.inputs, templates: pins }, request.from);
    if (!planned.ok) throw new PlannerError('invalid_argument', planned.issues[0]?.message ?? 'the replay cannot be planned', planned.issues);
    const recording = request.recording ?? true;
    const calls = request.mode !== 'live' || recording ? await this.store.calls(source.run.id) : [];
    const runId = uuidv7();
    const fresh = replaySnapshot(target, source, planned.plan, {
      id: runId,
      pipeline: target.spec.name,
      pipelineVersion: target.hash === before.hash ? source.run.pipelineVersion : 0,
      inputs: inputs.inputs,
      templates: pins,
      subject: source.run.subject,
      stream: false,
      ...this.runs.newRunFields(request, target, inputs.inputs),
      source: { run: source.run.id, from: request.from ?? null, mode: request.mode },
      recorded: calls,
    });
    if (target.hash !== before.hash) await this.pipelines.saveSpec(this.db.fork(), target.hash, target.spec);
    // The replay's recording is whole: the carried-over steps' calls are copied to it.
    const reused = new Set(planned.plan.reused);
    const copied = recording ? calls.filter((c) => reused.has(c.stepId)).map((c) => ({ ...c, runId })) : [];
    return this.runs.launch(target, fresh, copied);
  }

  /** A finished run as a file: its spec, pinned templates, view and recording. */
  async export(project: string, runId: string): Promise<RunExport> {
    const snapshot = await this.store.read(project, runId);
    if (!snapshot) throw new PlannerError('not_found', `no run with id "${runId}"`);
    if (snapshot.run.status === 'running' || snapshot.run.status === 'queued') {
      throw new PlannerError('failed_precondition', `run "${runId}" is still ${snapshot.run.status}: export it once it has finished`);
    }
    const { compiled } = await this.runs.pipelineOf(snapshot.run.specHash);
    return {
      format: 'trellis.run',
      version: 1,
      exportedAt: new Date().toISOString(),
      spec: compiled.spec as unknown as Record<string, unknown>,
      templates: snapshot.run.templates,
      run: toRunView(snapshot, compiled, null),
      calls: await this.store.calls(runId),
    };
  }

  /** An exported run, finished as it was, under a new id in `project`; nothing runs and nothing is published. */
  async import(project: string, file: RunExport, actor?: string): Promise<RunView> {
    if (file.run.status === 'running' || file.run.status === 'queued') {
      throw new PlannerError('invalid_argument', 'the file holds a run that had not finished', [{ path: ['file', 'run', 'status'], message: `a ${file.run.status} run cannot be imported` }]);
    }
    const { compiled } = this.compiler.compile({ json: file.spec });
    await this.pipelines.saveSpec(this.db.fork(), compiled.hash, compiled.spec);
    const runId = uuidv7();
    const snapshot = fromRunView(file.run, compiled, { id: runId, project, actor: actor ?? null, templates: file.templates });
    const calls = file.calls.filter((c) => Object.prototype.hasOwnProperty.call(compiled.steps, c.stepId)).map((c) => ({ ...c, runId }));
    await this.store.locked([], () => Promise.resolve({ inserts: [{ next: snapshot, calls }], writes: [], outbox: [], value: undefined }));
    return toRunView(snapshot, compiled, null);
  }

  /** The pipeline a replay runs: the source's, or another spec, with the models overridden. */
  private targetPipeline(before: CompiledPipeline, overrides: ReplayRequest['overrides'] & object): CompiledPipeline {
    let spec: PipelineSpec = overrides.spec ? this.compiler.compile(overrides.spec).compiled.spec : before.spec;
    if (overrides.models && Object.keys(overrides.models).length) {
      const changed = specWithModels(spec, overrides.models);
      if (!changed.ok) throw new PlannerError('invalid_argument', 'the replay overrides the model of a step it cannot', changed.issues);
      spec = changed.spec;
    }
    return spec === before.spec ? before : this.compiler.compile({ json: spec }).compiled;
  }
}
