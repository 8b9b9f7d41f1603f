import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { providerFetch } from '../src/client/provider-fetch';

// Behind a proxy, as curl would go: HTTP_PROXY is read by the transport's first call.
describe('providerFetch behind HTTP_PROXY', () => {
  let target: Server;
  let proxy: Server;
  const tunnels: string[] = [];
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };

  beforeAll(async () => {
    target = createServer((req, res) => res.end(JSON.stringify({ path: req.url })));
    // An HTTP proxy, forwarding absolute-form requests and tunnelling CONNECTs; it remembers where to.
    proxy = createServer((req, res) => {
      const url = new URL(req.url!);
      tunnels.push(url.host);
      const upstream = request({ host: url.hostname, port: url.port, path: url.pathname, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    });
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url!);
      const [host, port] = req.url!.split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await Promise.all([target, proxy].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    delete process.env.NO_PROXY;
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    for (const s of [target, proxy]) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });

  it('reaches the provider through the proxy', async () => {
    const where = `127.0.0.1:${(target.address() as AddressInfo).port}`;
    const res = await providerFetch(`http://${where}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(await res.json()).toEqual({ path: '/v1/chat/completions' });
    expect(tunnels).toEqual([where]);
  });
});
