import { Controller, Get, Injectable, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PROCESS_ID_HEADER } from '@trellis/contracts';

type Check = () => Promise<boolean> | boolean;

/** Readiness checks registered by the modules that own a dependency (NATS, PostgreSQL). */
@Injectable()
export class HealthChecks {
  private readonly checks = new Map<string, Check>();
  private draining = false;

  register(name: string, check: Check): void {
    this.checks.set(name, check);
  }

  /**
   * A check that holds readiness back until it first passes, and is not run again: for what a
   * service needs once before it is any use (the services it asks answering), but whose later
   * outage must not make the service itself unready, which would take every replica out of its
   * load balancer at once. During such an outage the service answers 503 with Retry-After.
   */
  registerStartupGate(name: string, check: Check): void {
    let passed = false;
    this.register(name, async () => (passed ||= await check()));
  }

  /** Called on shutdown so load balancers stop sending work before the service stops taking it. */
  markDraining(): void {
    this.draining = true;
  }

  async readiness(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    const checks: Record<string, boolean> = { accepting: !this.draining };
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        checks[name] = await Promise.race([
          Promise.resolve().then(check).catch(() => false),
          new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
        ]);
      }),
    );
    return { ready: Object.values(checks).every(Boolean), checks };
  }
}

@Controller()
export class HealthController {
  constructor(private readonly health: HealthChecks) {}

  /** Liveness: the process answers. */
  @Get('healthz')
  healthz() {
    return { status: 'ok' };
  }

  /** Readiness: every dependency answers a real round trip (and every start-up gate has passed). */
  @Get('readyz')
  async readyz(@Res({ passthrough: true }) reply: FastifyReply) {
    const result = await this.health.readiness();
    // Which process answered: a supervisor that started it on a port can tell it from another one there.
    reply.header(PROCESS_ID_HEADER, String(process.pid));
    reply.status(result.ready ? 200 : 503);
    return { status: result.ready ? 'ready' : 'not_ready', checks: result.checks };
  }
}
