import { Injectable, type OnModuleInit } from '@nestjs/common';
import { PlannerRpc, RegistryRpc, type RpcMethod } from '@trellis/contracts';
import { RpcClient } from '@trellis/messaging';
import { HealthChecks } from '@trellis/runtime';

/** How long a readiness probe waits on a service's ping (the probe itself gives up after 2 s). */
const PING_TIMEOUT_MS = 1000;

/**
 * The gateway is not ready until the services it asks (the planner, the template registry)
 * have answered once: a client that calls as soon as `/readyz` says 200 gets an answer, not a
 * 503. After that their outages no longer make the gateway unready (start-up gates, ADR 0010):
 * the gateway answers 503 with `Retry-After` instead, and keeps serving what it can.
 */
@Injectable()
export class UpstreamReadiness implements OnModuleInit {
  constructor(
    private readonly health: HealthChecks,
    private readonly rpc: RpcClient,
  ) {}

  onModuleInit(): void {
    this.health.registerStartupGate('planner', () => this.answers(PlannerRpc.ping));
    this.health.registerStartupGate('template-registry', () => this.answers(RegistryRpc.ping));
  }

  private answers(method: RpcMethod): Promise<boolean> {
    return this.rpc.call(method, {}, { timeoutMs: PING_TIMEOUT_MS }).then(() => true);
  }
}
