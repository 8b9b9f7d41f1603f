import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { providerFetch } from '../src/client/provider-fetch';

// The SDK's transport against a real HTTP server: what `fetch` would return, without its cost.
describe('providerFetch', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined>; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.url === '/empty') return res.writeHead(204, { 'x-request-id': 'r-204' }).end();
        if (req.url === '/moved') return res.writeHead(307, { location: '/elsewhere' }).end('moved');
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: one\n\n');
          setTimeout(() => res.end('data: two\n\n'), 20);
          return;
        }
        if (req.url === '/slow') {
          const timer = setTimeout(() => res.end('late'), 5_000);
          res.on('close', () => clearTimeout(timer));
          return;
        }
        res.writeHead(201, [['content-type', 'application/json'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
        res.end(JSON.stringify({ echo: body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => (seen.length = 0));

  it('sends the method, headers and body, and answers with the status, every header and the body', async () => {
    const res = await providerFetch(`${base}/echo`, { method: 'POST', headers: new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' }), body: '{"q":1}' });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await res.json()).toEqual({ echo: '{"q":1}' });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/echo', body: '{"q":1}', headers: expect.objectContaining({ authorization: 'Bearer k' }) });
  });

  it('answers a 204 without a body', async () => {
    const res = await providerFetch(`${base}/empty`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(204);
    expect(res.headers.get('x-request-id')).toBe('r-204');
    expect(await res.text()).toBe('');
  });

  it('hands a redirect back rather than resending the request', async () => {
    const res = await providerFetch(`${base}/moved`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('/elsewhere');
    expect(seen).toHaveLength(1);
  });

  it('hands an event stream over as it arrives', async () => {
    const res = await providerFetch(`${base}/stream`, { method: 'POST', body: '{}' });
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: one\n\n');
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe('data: two\n\n');
  });

  it('stops waiting when the signal aborts, with an AbortError', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(providerFetch(`${base}/slow`, { method: 'POST', body: '{}', signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
