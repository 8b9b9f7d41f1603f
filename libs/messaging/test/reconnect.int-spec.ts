import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { defineEvent, subjects } from '@trellis/contracts';
import { ConsumerRunner, EventPublisher, connectNats, ensureConsumer, provisionStreams, type NatsConnection } from '@trellis/messaging';
import { quietLogs, testNamespace, waitFor } from './nats-test-kit';

const Job = defineEvent('test', 'job', z.object({ n: z.number() }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

// This test restarts a server of its own (the shared one is never touched), so it needs the
// nats-server binary; where there is none it says so as a skipped test.
const hasNatsServer = spawnSync('nats-server', ['--version']).status === 0;

(hasNatsServer ? describe : describe.skip)('surviving a NATS restart (private nats-server)', () => {
  let server: ChildProcess | undefined;
  let port: number;
  const storeDir = mkdtempSync(join(tmpdir(), 'trellis-nats-'));
  const startServer = async () => {
    // Same port and store directory: the client reconnects to it and the streams survive.
    server = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: 'ignore' });
  };
  const stopServer = async () => {
    const s = server;
    if (!s || s.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      s.once('exit', () => resolve());
      s.kill('SIGTERM');
    });
  };

  beforeAll(async () => {
    quietLogs();
    port = await freePort();
  });

  afterAll(async () => {
    await stopServer();
    rmSync(storeDir, { recursive: true, force: true });
  });

  it('reconnects, and the consumer resumes once the server is back', async () => {
    const connecting = connectNats({ servers: `nats://127.0.0.1:${port}`, name: 'reconnect-test' });
    await startServer(); // after connectNats was called: it waits for the first connection
    const nc: NatsConnection = await connecting;
    const ns = testNamespace('trec');
    const s = subjects(ns);
    await provisionStreams(nc, ns);
    await ensureConsumer(nc, { stream: s.streams.work, durable: 'test-reconnect', filterSubject: s.stepWork('p'), ackWaitMs: 5_000, maxAckPending: 100 });
    const seen: number[] = [];
    const runner = await ConsumerRunner.start({ nc, stream: s.streams.work, durable: 'test-reconnect', contract: Job, pullExpiresMs: 2_000, handler: async (d) => void seen.push(d.n) });
    const publisher = new EventPublisher(nc, { source: 'test' });
    await publisher.publish(Job, { n: 1 }, { subject: s.stepWork('p') });
    await waitFor(() => seen.length === 1, { what: 'the first message' });

    await stopServer();
    await startServer();
    await waitFor(() => publisher.publish(Job, { n: 2 }, { subject: s.stepWork('p'), id: 'after-restart' }).then(() => true), { what: 'a publish after the restart', timeoutMs: 15_000 });

    await waitFor(() => seen.includes(2), { what: 'the consumer to resume', timeoutMs: 20_000 });
    await runner.stop({ graceMs: 0 });
    await nc.close();
  });
});
