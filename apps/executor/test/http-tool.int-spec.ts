import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AddressPolicy } from '../src/tools/address-policy';
import { httpTool } from '../src/tools/http.tool';

/**
 * The `http` tool against real local HTTP servers and the machine's real DNS. Local servers
 * listen on loopback, which the tool refuses, so the servers that must be reachable are
 * allow-listed by address; what the tests refuse never gets a connection.
 */
describe('http tool', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];
  const signal = new AbortController().signal;
  const refusing = httpTool({ policy: new AddressPolicy(), maxBytes: 1024, timeoutMs: 5_000 });
  const allowingLoopback = httpTool({ policy: new AddressPolicy(['127.0.0.1']), maxBytes: 1024, timeoutMs: 5_000 });
  const run = (tool: typeof refusing, input: Record<string, unknown>) => tool.run(tool.input.parse(input), { signal });

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/json') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ method: req.method, received: body ? JSON.parse(body) : null, auth: req.headers.authorization ?? null }));
        });
        return;
      }
      if (url.pathname === '/redirect') {
        res.statusCode = 302;
        res.setHeader('location', url.searchParams.get('to')!);
        return res.end();
      }
      if (url.pathname === '/big') return res.end('x'.repeat(4096));
      res.statusCode = 404;
      res.end('no');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('refuses 127.0.0.1 without connecting', async () => {
    const before = hits.length;
    await expect(run(refusing, { url: `${base}/json` })).rejects.toMatchObject({ code: 'blocked_address' });
    expect(hits.length).toBe(before);
  });

  it('refuses the cloud metadata address 169.254.169.254', async () => {
    await expect(run(refusing, { url: 'http://169.254.169.254/latest/meta-data/' })).rejects.toMatchObject({ code: 'blocked_address' });
  });

  it('refuses a host name that resolves to a private address (localhost)', async () => {
    const port = (server.address() as AddressInfo).port;
    await expect(run(refusing, { url: `http://localhost:${port}/json` })).rejects.toMatchObject({ code: 'blocked_address', message: expect.stringMatching(/localhost \(resolves to/) });
  });

  it('refuses a redirect to a private address', async () => {
    for (const to of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/', 'http://[::1]/']) {
      await expect(run(allowingLoopback, { url: `${base}/redirect?to=${encodeURIComponent(to)}` })).rejects.toMatchObject({ code: 'blocked_address' });
    }
  });

  it('sends JSON bodies and headers and parses a JSON answer', async () => {
    const out = await run(allowingLoopback, { url: `${base}/json`, method: 'POST', headers: { authorization: 'Bearer t' }, body: { a: 1 } });
    expect(out).toMatchObject({ status: 200, body: { method: 'POST', received: { a: 1 }, auth: 'Bearer t' } });
  });

  it('follows an allowed redirect, as GET after a 302 to a POST', async () => {
    const out = await run(allowingLoopback, { url: `${base}/redirect?to=/json`, method: 'POST', body: { a: 1 } });
    expect(out.body).toMatchObject({ method: 'GET', received: null });
  });

  it('fails on a response larger than the limit and on an error status', async () => {
    await expect(run(allowingLoopback, { url: `${base}/big` })).rejects.toMatchObject({ code: 'response_too_large' });
    await expect(run(allowingLoopback, { url: `${base}/missing` })).rejects.toMatchObject({ code: 'status_404', retryable: false });
    expect(await run(allowingLoopback, { url: `${base}/missing`, fail_on_error_status: false })).toMatchObject({ status: 404, body: 'no' });
  });
});
