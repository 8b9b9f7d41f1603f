import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PlannerRpc, type CreateRunBody, type ReplayRunBody, type RunView } from '@trellis/contracts';
import { canonicalJson } from '@trellis/engine';
import { RpcCallError, RpcClient } from '@trellis/messaging';
import { GatewayError } from '../http/gateway.errors';
import { specSource } from '../http/spec-body';
import type { Principal } from '../projects/project.service';
import { IdempotencyRepository } from './idempotency.repository';

/**
 * Starts runs for a project: replays an `Idempotency-Key` seen before, then asks the planner,
 * which admits the run (starts or queues it) by the project's settings. A replay of a run is a
 * new run, admitted the same way.
 */
@Injectable()
export class RunStarterService {
  constructor(
    private readonly rpc: RpcClient,
    private readonly idempotency: IdempotencyRepository,
  ) {}

  async start(principal: Principal, body: CreateRunBody, options: { idempotencyKey?: string | undefined; overrideAlignment?: boolean } = {}): Promise<{ run: RunView; replayed: boolean }> {
    const project = principal.project;
    const { idempotencyKey, overrideAlignment = false } = options;
    if (idempotencyKey === undefined) return { run: await this.startNow(principal, body, overrideAlignment), replayed: false };

    const bodyHash = createHash('sha256').update(canonicalJson(body)).digest('hex');
    const existing = await this.idempotency.claim(project, idempotencyKey, bodyHash);
    if (existing) {
      if (existing.body_hash !== bodyHash) {
        throw new GatewayError('idempotency_conflict', 'this Idempotency-Key was used with another request body');
      }
      if (!existing.run_id) throw new GatewayError('conflict', 'a request with this Idempotency-Key is still being processed; retry shortly');
      return { run: await this.rpc.call(PlannerRpc.getRun, { project, runId: existing.run_id }), replayed: true };
    }
    try {
      const run = await this.startNow(principal, body, overrideAlignment);
      await this.idempotency.complete(project, idempotencyKey, run.id);
      return { run, replayed: false };
    } catch (err) {
      // After a timeout the planner may still have started the run: keep the claim, so a retry
      // answers 409 rather than starting a second run. Any other failure started nothing.
      if (!(err instanceof RpcCallError && err.code === 'unavailable')) await this.idempotency.release(project, idempotencyKey);
      throw err;
    }
  }

  /** A replay or fork of one of the project's runs (docs/replay.md): a new run, admitted like any other. */
  replay(principal: Principal, runId: string, body: ReplayRunBody): Promise<RunView> {
    const { spec, ...overrides } = body.overrides ?? {};
    return refusedOnBudget(() =>
      this.rpc.call(PlannerRpc.replayRun, {
        project: principal.project,
        runId,
        mode: body.mode,
        ...newRunSettings(principal, body.priority),
        ...(body.from !== undefined ? { from: body.from } : {}),
        ...(body.overrides ? { overrides: { ...overrides, ...(spec !== undefined ? { spec: specSource(spec) } : {}) } } : {}),
      }),
    );
  }

  /**
   * The planner starts the run, or queues it when the project (or its concurrency key) has as
   * many running as it may; it refuses it only when the project's budget for the day is spent.
   */
  private startNow(principal: Principal, body: CreateRunBody, overrideAlignment: boolean): Promise<RunView> {
    return refusedOnBudget(() =>
      this.rpc.call(PlannerRpc.startRun, {
        project: principal.project,
        inputs: body.inputs,
        ...newRunSettings(principal, body.priority),
        ...(overrideAlignment ? { overrideAlignment } : {}),
        ...(body.subject !== undefined ? { subject: body.subject } : {}),
        ...(body.feature !== undefined ? { feature: body.feature } : {}),
        ...(body.stream !== undefined ? { stream: body.stream } : {}),
        ...(body.pipeline !== undefined ? { pipeline: body.pipeline } : { source: specSource(body.spec) }),
      }),
    );
  }
}

/** What the planner admits and records a new run (a start or a replay) by: the project's settings, its priority, who asked. */
function newRunSettings(principal: Principal, priority: number) {
  return {
    maxRunning: principal.maxRunningRuns,
    weight: principal.weight,
    budget: principal.budget,
    recording: principal.recording,
    priority,
    actor: principal.keyId,
  };
}

async function refusedOnBudget(start: () => Promise<RunView>): Promise<RunView> {
  try {
    return await start();
  } catch (err) {
    // A budget is per UTC day: the request may succeed from the next midnight on.
    if (err instanceof RpcCallError && err.code === 'resource_exhausted') throw new GatewayError('budget_exhausted', err.message, err.issues, secondsToNextUtcDay());
    throw err;
  }
}

function secondsToNextUtcDay(now = Date.now()): number {
  const day = 24 * 60 * 60 * 1000;
  return Math.max(1, Math.ceil((day - (now % day)) / 1000));
}
