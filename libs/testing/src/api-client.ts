import type { RunView } from '@trellis/contracts';
import { waitFor } from './wait-for';

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A thin HTTP client for tests: real requests to the gateway, bodies parsed, no assertions hidden inside. */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string | undefined,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, options: { contentType?: string; headers?: Record<string, string> } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON; keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }

  post<T = any>(path: string, body?: unknown, options?: { contentType?: string; headers?: Record<string, string> }) {
    return this.request<T>('POST', path, body, options);
  }

  /** Polls the run until it reaches a final status and returns it. */
  async waitForRun(runId: string, timeoutMs = 30_000): Promise<RunView> {
    return waitFor(
      `run ${runId} to finish`,
      async () => {
        const res = await this.get<RunView>(`/v1/runs/${runId}`);
        return res.status === 200 && res.body.status !== 'running' && res.body.status !== 'queued' ? res.body : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }
}
