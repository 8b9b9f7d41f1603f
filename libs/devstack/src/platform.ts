import { join } from 'node:path';
import { freePort } from './probe';
import { ServiceProcess } from './service-process';

export const SERVICES = ['planner', 'template-registry', 'verifier', 'executor', 'gateway'] as const;
export type ServiceName = (typeof SERVICES)[number];

export interface PlatformOptions {
  /** The repository root: service entry points are under `dist/`. */
  rootDir: string;
  /**
   * The environment every service starts from, before the platform's own values (database,
   * NATS, namespace, API key, model endpoint, ports) go on top. `trellis up` gives the
   * caller's whole environment, as a process supervisor does, so every variable a service
   * reads reaches it (ADR 0009); tests and the bench give {@link hermeticEnv}, so that a
   * variable in a developer's shell never changes what they prove or measure.
   */
  inherit: NodeJS.ProcessEnv;
  databaseUrl: string;
  natsUrl: string;
  namespace: string;
  apiKey: string;
  /** The default model provider (the simulator, in development and tests). */
  openaiBaseUrl: string;
  /** Its key (the simulator's, when the platform runs one); unset, whatever `inherit` holds. */
  openaiApiKey?: string;
  executors?: number;
  gatewayPort?: number;
  /** Extra variables for every service, then per service. */
  env?: NodeJS.ProcessEnv;
  serviceEnv?: Partial<Record<ServiceName, NodeJS.ProcessEnv>>;
  echo?: boolean;
  logLevel?: string;
}

export function serviceScript(rootDir: string, service: ServiceName | 'simulator'): string {
  return service === 'simulator' ? join(rootDir, 'dist/libs/llm/src/simulator/main.js') : join(rootDir, `dist/apps/${service}/src/main.js`);
}

/**
 * Every service of Trellis as its own process on one machine: the shape of production,
 * small enough for a laptop, a test file or the benchmark.
 */
export class Platform {
  readonly processes = new Map<string, ServiceProcess>();
  private executorCount = 0;

  private constructor(
    private readonly options: PlatformOptions,
    readonly gatewayUrl: string,
  ) {}

  static async start(options: PlatformOptions): Promise<Platform> {
    const gatewayPort = options.gatewayPort ?? (await freePort());
    const platform = new Platform(options, `http://127.0.0.1:${gatewayPort}`);
    try {
      const started: ServiceProcess[] = [];
      for (const service of SERVICES) {
        if (service === 'executor') {
          for (let i = 0; i < (options.executors ?? 1); i++) started.push(await platform.spawnExecutor());
        } else {
          started.push(await platform.spawn(service, service, service === 'gateway' ? gatewayPort : await freePort()));
        }
      }
      await Promise.all(started.map((p) => p.waitReady()));
      return platform;
    } catch (err) {
      await platform.stop();
      throw err;
    }
  }

  get(name: string): ServiceProcess {
    const p = this.processes.get(name);
    if (!p) throw new Error(`no process named ${name}; have ${[...this.processes.keys()].join(', ')}`);
    return p;
  }

  /**
   * Starts another replica of a service (`<service>-<n>`) on a port of its own, as a second
   * gateway or planner behind a load balancer would be, and waits until it is ready.
   */
  async startReplica(service: Exclude<ServiceName, 'executor'>, env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
    const n = [...this.processes.keys()].filter((k) => k === service || k.startsWith(`${service}-`)).length + 1;
    const p = await this.spawn(service, `${service}-${n}`, await freePort(), env);
    await p.waitReady();
    return p;
  }

  /** Starts one more executor replica (`executor-<n>`) and waits until it is ready. */
  async addExecutor(env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
    const p = await this.spawnExecutor(env);
    await p.waitReady();
    return p;
  }

  /** Starts a stopped or killed service again on the same port. */
  async restart(name: string): Promise<void> {
    const p = this.get(name);
    if (p.running) await p.stop();
    p.start();
    await p.waitReady();
  }

  async stop(): Promise<void> {
    // The gateway first (no new work), the planner last (it applies what the others finish).
    const order = [...this.processes.values()].sort((a, b) => rank(a.name) - rank(b.name));
    for (const p of order) await p.stop();
  }

  private async spawnExecutor(env: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
    this.executorCount += 1;
    return this.spawn('executor', `executor-${this.executorCount}`, await freePort(), { EXECUTOR_ID: `executor-${this.executorCount}`, ...env });
  }

  private async spawn(service: ServiceName, name: string, port: number, extra: NodeJS.ProcessEnv = {}): Promise<ServiceProcess> {
    const o = this.options;
    const p = new ServiceProcess({
      name,
      script: serviceScript(o.rootDir, service),
      port,
      echo: o.echo ?? false,
      env: {
        ...o.inherit,
        DATABASE_URL: o.databaseUrl,
        NATS_URL: o.natsUrl,
        TRELLIS_NAMESPACE: o.namespace,
        TRELLIS_API_KEY: o.apiKey,
        OPENAI_BASE_URL: o.openaiBaseUrl,
        ...(o.openaiApiKey !== undefined ? { OPENAI_API_KEY: o.openaiApiKey } : {}),
        LOG_LEVEL: o.logLevel ?? 'info',
        ...o.env,
        ...o.serviceEnv?.[service],
        ...extra,
      },
    });
    this.processes.set(name, p);
    p.start();
    return p;
  }
}

const rank = (name: string) => ['gateway', 'executor', 'verifier', 'template-registry', 'planner'].findIndex((s) => name.startsWith(s));

/**
 * What a platform that must not depend on its caller's shell (a test's, the bench's) takes
 * from it: where programs and the home directory are, and the OpenTelemetry settings. Not the
 * test runner's own variables (`NODE_OPTIONS=--experimental-vm-modules`, `JEST_WORKER_ID`),
 * and not a Trellis setting a developer happens to have exported (`TRELLIS_ADMIN_TOKEN`,
 * `EXECUTOR_CONCURRENCY`, `OPENAI_API_KEY`): those a test sets explicitly when it means them.
 */
export function hermeticEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k === 'PATH' || k === 'HOME' || k.startsWith('OTEL_')));
}
