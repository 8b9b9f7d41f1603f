import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { ToolDefinition } from '@trellis/contracts';
import { z } from 'zod';
import type { AddressPolicy } from './address-policy';
import { ToolError } from './tool.errors';

const HttpInput = z.object({
  url: z.string().url().refine((u) => /^https?:$/.test(new URL(u).protocol), 'only http and https URLs'),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  /** A string is sent as is; anything else as JSON (`Content-Type: application/json`). */
  body: z.unknown().optional(),
  /** Default true: a 4xx fails the step (429 and 5xx are retried), as a model call's would. */
  fail_on_error_status: z.boolean().default(true),
});
type HttpInput = z.infer<typeof HttpInput>;

/** What the `http` tool returns: the body parsed as JSON when the response says it is JSON. */
export interface HttpToolOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface HttpToolOptions {
  policy: AddressPolicy;
  maxBytes: number;
  timeoutMs: number;
  maxRedirects?: number;
}

/**
 * Calls an HTTP API. Redirects are followed by hand (at most 5), so every hop's address is
 * checked; the check happens in the socket's own DNS lookup, so what is checked is what is
 * connected to (no window for DNS rebinding). Response bodies beyond `maxBytes` and calls
 * beyond `timeoutMs` fail.
 */
export function httpTool(options: HttpToolOptions): ToolDefinition<HttpInput, HttpToolOutput> {
  const maxRedirects = options.maxRedirects ?? 5;
  return {
    name: 'http',
    description: 'Call an HTTP API (GET/POST/…, headers, JSON bodies).',
    input: HttpInput,
    async run(input, { signal }) {
      const callSignal = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
      let url = new URL(input.url);
      let method: string = input.method;
      let body = encodeBody(input.body, input.headers);
      const headers = { ...input.headers, ...body.headers };
      for (let hop = 0; ; hop++) {
        const res = await send(url, method, headers, body.data, options, callSignal);
        const location = res.headers.location;
        if (res.status >= 300 && res.status < 400 && location) {
          res.stream.resume();
          if (hop >= maxRedirects) throw new ToolError(`http: more than ${maxRedirects} redirects`, 'too_many_redirects');
          const next = new URL(location, url);
          if (!/^https?:$/.test(next.protocol)) throw new ToolError(`http: redirect to a ${next.protocol} URL refused`, 'blocked_address');
          // Credentials stay with the origin they were meant for.
          // Another origin gets none of the step's own headers (credentials hide under many names), only the safe ones.
          if (next.origin !== url.origin) for (const h of Object.keys(headers)) if (!/^(accept|accept-language|content-type|user-agent)$/i.test(h)) delete headers[h];
          if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
            method = 'GET';
            body = { data: undefined, headers: {} };
            for (const h of Object.keys(headers)) if (/^content-(type|length)$/i.test(h)) delete headers[h];
          }
          url = next;
          continue;
        }
        const text = await readBody(res.stream, options.maxBytes, callSignal);
        if (input.fail_on_error_status && res.status >= 400) {
          const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
          throw new ToolError(`http: ${method} ${url.origin}${url.pathname} answered ${res.status}: ${text.slice(0, 200)}`, `status_${res.status}`, retryable);
        }
        const isJson = /[/+]json\b/i.test(res.headers['content-type'] ?? '');
        return { status: res.status, headers: res.headers, body: isJson && text ? parseJson(text) : text };
      }
    },
  };
}

function encodeBody(body: unknown, headers: Record<string, string>): { data: string | undefined; headers: Record<string, string> } {
  if (body === undefined) return { data: undefined, headers: {} };
  if (typeof body === 'string') return { data: body, headers: {} };
  const hasType = Object.keys(headers).some((h) => h.toLowerCase() === 'content-type');
  return { data: JSON.stringify(body), headers: hasType ? {} : { 'content-type': 'application/json' } };
}

interface Sent {
  status: number;
  headers: Record<string, string>;
  stream: IncomingMessage;
}

function send(url: URL, method: string, headers: Record<string, string>, data: string | undefined, options: HttpToolOptions, signal: AbortSignal): Promise<Sent> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const allowedByName = options.policy.hostAllowed(host);
  // An IP literal is connected to without a lookup: check it here.
  if (isIP(host) && !allowedByName) {
    const refusal = options.policy.refusal(host);
    if (refusal) return Promise.reject(new ToolError(`http: refused ${url.origin}: ${refusal}`, 'blocked_address'));
  }
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      if (!allowedByName) {
        for (const a of addresses) {
          const refusal = options.policy.refusal(a.address);
          if (refusal) return callback(new ToolError(`http: refused ${hostname} (resolves to ${a.address}): ${refusal}`, 'blocked_address'), '', 4);
        }
      }
      if (lookupOptions.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
  const requestOptions: RequestOptions = {
    method,
    headers: { ...headers, ...(data === undefined ? {} : { 'content-length': String(Buffer.byteLength(data)) }) },
    lookup,
    signal,
    // No connection reuse: a pooled socket would skip the lookup (and so the check).
    agent: false,
  };
  return new Promise<Sent>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, requestOptions, (res) => {
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
      resolve({ status: res.statusCode ?? 0, headers: out, stream: res });
    });
    req.on('error', (err) => reject(toToolError(err, url, signal)));
    req.end(data);
  });
}

function readBody(stream: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        stream.destroy();
        reject(new ToolError(`http: response larger than ${maxBytes} bytes`, 'response_too_large'));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', (err) => reject(toToolError(err, undefined, signal)));
  });
}

function toToolError(err: unknown, url: URL | undefined, signal: AbortSignal): Error {
  if (err instanceof ToolError) return err;
  // The lookup's refusal arrives wrapped by the socket on some Node versions.
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof ToolError) return cause;
  if (signal.aborted) return new ToolError(`http: ${signal.reason instanceof Error && signal.reason.name === 'TimeoutError' ? 'timed out' : 'aborted'}`, 'timeout', true);
  return new ToolError(`http: ${url ? `${url.origin}: ` : ''}${(err as Error).message}`, 'connection', true, { cause: err });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
