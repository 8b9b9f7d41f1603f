import type { Problem } from '@trellis/contracts';

/** A failed request, with the gateway's problem details when it sent some. */
export class GatewayRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
    this.name = 'GatewayRequestError';
  }
}

/** The gateway's REST API as the CLI uses it: JSON in and out, problem+json turned into errors. */
export class GatewayClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string | undefined,
  ) {}

  headers(extra: Record<string, string> = {}): Record<string, string> {
    if (!this.apiKey) throw new Error('set TRELLIS_API_KEY to the API key of your project (npm start prints one)');
    return { authorization: `Bearer ${this.apiKey}`, ...extra };
  }

  async request<T>(method: string, path: string, body?: { json?: unknown; yaml?: string }): Promise<T> {
    const res = await this.raw(method, path, body);
    const text = await res.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!res.ok) {
      const problem = parsed as Problem | undefined;
      throw new GatewayRequestError(res.status, problem?.detail ?? problem?.title ?? `${method} ${path} answered ${res.status}`, problem);
    }
    return parsed as T;
  }

  async raw(method: string, path: string, body?: { json?: unknown; yaml?: string }, headers: Record<string, string> = {}): Promise<Response> {
    const contentType: Record<string, string> =
      body?.yaml !== undefined ? { 'content-type': 'application/yaml' } : body?.json !== undefined ? { 'content-type': 'application/json' } : {};
    const payload = body?.yaml ?? (body?.json !== undefined ? JSON.stringify(body.json) : undefined);
    try {
      return await fetch(`${this.baseUrl}${path}`, { method, headers: this.headers({ ...contentType, ...headers }), ...(payload !== undefined ? { body: payload } : {}) });
    } catch (err) {
      throw new Error(`cannot reach the gateway at ${this.baseUrl} (set TRELLIS_URL): ${(err as Error).cause ? String((err as { cause: Error }).cause.message) : (err as Error).message}`);
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
