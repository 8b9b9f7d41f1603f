import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../devstack/src/probe';
import { chooseTestServices, isDockerReachable, provideTestServices, type ServiceProbe } from './test-services';

const nothing: ServiceProbe = { databaseUrlSet: false, natsUrlSet: false, postgresAnswers: false, natsAnswers: false, dockerReachable: false };

describe('chooseTestServices', () => {
  it('uses the URLs in the environment, whatever answers locally or Docker offers', () => {
    expect(chooseTestServices({ databaseUrlSet: true, natsUrlSet: true, postgresAnswers: true, natsAnswers: true, dockerReachable: true })).toEqual({ postgres: 'env', nats: 'env' });
  });

  it('uses the local services when they answer, even with a Docker engine reachable', () => {
    expect(chooseTestServices({ ...nothing, postgresAnswers: true, natsAnswers: true, dockerReachable: true })).toEqual({ postgres: 'local', nats: 'local' });
  });

  it('starts containers when nothing is set or answers and Docker is reachable', () => {
    expect(chooseTestServices({ ...nothing, dockerReachable: true })).toEqual({ postgres: 'container', nats: 'container' });
  });

  it('decides each service on its own: a container only for the one missing', () => {
    expect(chooseTestServices({ ...nothing, databaseUrlSet: true, dockerReachable: true })).toEqual({ postgres: 'env', nats: 'container' });
    expect(chooseTestServices({ ...nothing, natsAnswers: true, dockerReachable: true })).toEqual({ postgres: 'container', nats: 'local' });
  });

  it('has nothing for a service that is neither set, nor local, nor in reach of Docker', () => {
    expect(chooseTestServices(nothing)).toEqual({ postgres: 'none', nats: 'none' });
    expect(chooseTestServices({ ...nothing, postgresAnswers: true })).toEqual({ postgres: 'local', nats: 'none' });
  });
});

describe('provideTestServices', () => {
  it('takes the URLs in the environment as they are, starting nothing', async () => {
    const sut = await provideTestServices({ DATABASE_URL: 'postgres://db.example:5432/x', NATS_URL: 'nats://nats.example:4222' });
    expect(sut.sources).toEqual({ postgres: 'env', nats: 'env' });
    expect(sut.env).toEqual({});
    await sut.stop();
  });
});

describe('isDockerReachable', () => {
  const listen = (server: Server, target: string | number) => new Promise<void>((resolve) => server.listen(target as never, () => resolve()));
  const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

  it('answers whether DOCKER_HOST (tcp://) accepts connections', async () => {
    const port = await freePort();
    expect(await isDockerReachable({ DOCKER_HOST: `tcp://127.0.0.1:${port}` })).toBe(false);
    const server = createServer();
    await listen(server, port);
    expect(await isDockerReachable({ DOCKER_HOST: `tcp://127.0.0.1:${port}` })).toBe(true);
    await close(server);
  });

  it('answers whether DOCKER_HOST (unix://) accepts connections', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'docker-probe-')), 'docker.sock');
    expect(await isDockerReachable({ DOCKER_HOST: `unix://${path}` })).toBe(false);
    const server = createServer();
    await listen(server, path);
    expect(await isDockerReachable({ DOCKER_HOST: `unix://${path}` })).toBe(true);
    await close(server);
  });
});
