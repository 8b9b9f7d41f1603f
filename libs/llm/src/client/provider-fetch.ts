import { Readable } from 'node:stream';
import { Agent, EnvHttpProxyAgent, request, type Dispatcher } from 'undici';

/**
 * The `fetch` the `openai` SDK calls providers with: undici's `request` API over one
 * keep-alive connection pool per process, rather than the global WHATWG `fetch`.
 *
 * Node's `fetch` is undici too, but its spec machinery (Request and Headers objects, a web
 * stream for every body, a composite AbortSignal per call) cost the executor about a quarter
 * of its CPU per step at 0 ms model latency (bench/README.md, "Optimisations"). `request`
 * sends the same bytes and gives back the status, headers and body; the SDK still builds
 * the request and reads the answer through a standard `Response`:
 *
 * - an answer that is not a stream (`text/event-stream`) is read whole and handed over as
 *   bytes: the SDK parses it with `response.json()` anyway;
 * - a stream is handed over as a web stream, read as it arrives;
 * - the caller's `signal` aborts the call, the answer's body included;
 * - no redirect is followed (a provider that redirects a `POST` is misconfigured: `fetch`
 *   would resend it as a `GET`), and no timeout of its own applies: every call carries the
 *   client's deadline (`LlmClient`), so undici's five-minute header and body limits are off;
 * - `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` are honoured as curl honours them (undici's
 *   `EnvHttpProxyAgent` reads them). They are read once, by the first call: without a proxy the
 *   pool is a plain `Agent`, which connects directly without matching every call's host
 *   against `NO_PROXY` (1% of the executor's CPU per step).
 *
 * A body the SDK builds as something other than a string or bytes (form uploads, which the
 * chat API never sends) goes through the global `fetch` unchanged.
 */
export const providerFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
  const body = init.body;
  if (input instanceof Request || (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array))) {
    return fetch(input, init);
  }
  const answer = await request(input, {
    dispatcher: dispatcher(),
    method: (init.method ?? 'GET') as Dispatcher.HttpMethod,
    headers: headersOf(init.headers),
    body: body ?? null,
    signal: init.signal ?? undefined,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else if (value !== undefined) headers.append(name, value);
  }
  if (NULL_BODY_STATUS.has(answer.statusCode)) {
    await answer.body.dump();
    return new Response(null, { status: answer.statusCode, headers });
  }
  if (headers.get('content-type')?.startsWith('text/event-stream')) {
    return new Response(Readable.toWeb(answer.body) as ReadableStream<Uint8Array>, { status: answer.statusCode, headers });
  }
  return new Response(await answer.body.arrayBuffer(), { status: answer.statusCode, headers });
};

/** Statuses whose `Response` may not have a body. */
const NULL_BODY_STATUS = new Set([204, 205, 304]);

let agent: Dispatcher | undefined;

/** One pool for every provider of the process, created on first use. */
function dispatcher(): Dispatcher {
  agent ??= PROXY_VARIABLES.some((name) => process.env[name]) ? new EnvHttpProxyAgent(POOL) : new Agent(POOL);
  return agent;
}

const POOL = { headersTimeout: 0, bodyTimeout: 0 };
/** What `EnvHttpProxyAgent` reads a proxy from (`NO_PROXY` matters only with one of them). */
const PROXY_VARIABLES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY'];

function headersOf(headers: RequestInit['headers']): Record<string, string> | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return Object.fromEntries(headers);
  if (Array.isArray(headers)) return Object.fromEntries(headers);
  return headers as Record<string, string>;
}
