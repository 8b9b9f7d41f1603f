import { randomBytes } from 'node:crypto';
import { freePort, hermeticEnv, serviceScript, ServiceProcess } from '@trellis/devstack';
import type { SimulatedRequest } from '@trellis/llm';

/**
 * The simulator as its own process (as a real model endpoint would be, demanding a key), so
 * its CPU is read apart from the bench's and the services', and driven over its admin endpoints.
 */
export class SimulatorProcess {
  private constructor(
    readonly process: ServiceProcess,
    /** Base URL for an OpenAI client, ending in `/v1`. */
    readonly url: string,
    /** The key it demands on `/v1/*` (its admin endpoints ask for none). */
    readonly apiKey: string,
  ) {}

  static async start(rootDir: string): Promise<SimulatorProcess> {
    const port = await freePort();
    const apiKey = `sk-sim-${randomBytes(12).toString('base64url')}`;
    const proc = new ServiceProcess({
      name: 'simulator',
      script: serviceScript(rootDir, 'simulator'),
      port,
      readyPath: '/healthz',
      env: { ...hermeticEnv(process.env), SIM_PORT: String(port), SIM_HOST: '127.0.0.1', SIM_LATENCY_MS: '0', SIM_API_KEY: apiKey },
    });
    proc.start();
    await proc.waitReady();
    return new SimulatorProcess(proc, `${proc.url}/v1`, apiKey);
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  async setLatency(latencyMs: number): Promise<void> {
    await this.admin('POST', '/_sim/config', { latencyMs });
  }

  /** Forgets recorded requests (it keeps the last 10,000): call before each case. */
  async clearRequests(): Promise<void> {
    await this.admin('DELETE', '/_sim/requests');
  }

  async requests(): Promise<SimulatedRequest[]> {
    const res = await this.admin('GET', '/_sim/requests');
    return ((await res.json()) as { data: SimulatedRequest[] }).data;
  }

  stop(): Promise<number | null> {
    return this.process.stop();
  }

  private async admin(method: string, path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${this.process.url}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    if (!res.ok) throw new Error(`simulator ${method} ${path} answered ${res.status}: ${await res.text()}`);
    return res;
  }
}

/** At most this many requests are kept by the simulator; a case must stay below it. */
export const SIMULATOR_RECORD_LIMIT = 10_000;
