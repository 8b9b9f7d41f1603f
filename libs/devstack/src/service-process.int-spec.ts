import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROCESS_ID_HEADER } from '@trellis/contracts';
import { freePort } from './probe';
import { ServiceProcess } from './service-process';

/** A stand-in service: answers its readiness path on PORT, naming its process, as the services do. */
const script = join(mkdtempSync(join(tmpdir(), 'trellis-sp-')), 'service.js');
writeFileSync(
  script,
  `require('node:http').createServer((req, res) => { res.setHeader('${PROCESS_ID_HEADER}', String(process.pid)); res.end('{}'); })
     .listen(Number(process.env.PORT), '127.0.0.1');`,
);

describe('ServiceProcess.waitReady', () => {
  let squatter: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (squatter ? squatter.close(() => resolve()) : resolve())));

  it('is ready when its own process answers', async () => {
    const p = new ServiceProcess({ name: 'svc', script, env: {}, port: await freePort() });
    p.start();
    try {
      await p.waitReady(10_000);
      const res = await fetch(`${p.url}/readyz`);
      expect(res.headers.get(PROCESS_ID_HEADER)).toBe(String(p.pid));
    } finally {
      await p.kill();
    }
  });

  it('moves to another port when another process already answers on its own', async () => {
    // Another "service" took the port between the probe and the bind, and answers as ready.
    const port = await freePort();
    squatter = createServer((_req, res) => {
      res.setHeader(PROCESS_ID_HEADER, '1');
      res.end('{}');
    });
    await new Promise<void>((resolve) => squatter!.listen(port, '127.0.0.1', resolve));
    const p = new ServiceProcess({ name: 'svc', script, env: {}, port });
    p.start();
    try {
      await p.waitReady(10_000);
      expect(p.options.port).not.toBe(port);
      const res = await fetch(`${p.url}/readyz`);
      expect(res.headers.get(PROCESS_ID_HEADER)).toBe(String(p.pid));
    } finally {
      await p.kill();
    }
  });
});
