import type { Problem } from '@trellis/contracts';

/** An answer of the gateway that is not a success: its status and problem details (RFC 9457). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? problem.title ?? `the gateway answered ${status}`);
    this.name = 'ApiError';
  }
}

export interface RequestOptions {
  body?: unknown;
  /** `application/json` unless given; a string body with another type is sent as is (YAML). */
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * The console's only way to the platform: HTTP to the gateway that served it, with the API key
 * in the `Authorization` header (never in a URL). A 401 signs the browser out.
 */
export class ApiClient {
  constructor(
    readonly apiKey: string,
    private readonly onUnauthenticated: () => void = () => undefined,
  ) {}

  get authorization(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', path, options);
  }

  put<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('PUT', path, options);
  }

  /** A response body as a file (products), for a download the browser saves. */
  async blob(path: string): Promise<Blob> {
    const res = await this.send('GET', path, {});
    return res.blob();
  }

  async request<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const res = await this.send(method, path, options);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.authorization, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      const contentType = options.contentType ?? 'application/json';
      headers['content-type'] = contentType;
      body = typeof options.body === 'string' && contentType !== 'application/json' ? options.body : JSON.stringify(options.body);
    }
    const res = await fetch(path, { method, headers, ...(body !== undefined ? { body } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    if (res.ok) return res;
    const problem = await readProblem(res);
    if (res.status === 401) this.onUnauthenticated();
    throw new ApiError(res.status, problem);
  }
}

async function readProblem(res: Response): Promise<Partial<Problem>> {
  const text = await res.text();
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (parsed && typeof parsed === 'object') return parsed;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, title: res.statusText, detail: text.slice(0, 500) || undefined };
}

/** `?a=1&b=2` from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== null && e[1] !== '');
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}` : '';
}
