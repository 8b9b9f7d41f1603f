import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Platform, type PlatformOptions } from '@trellis/devstack';
import { startSimulator, type SimulatorHandle, type SimulatorOptions } from '@trellis/llm';
import { connectNats, deleteNamespace } from '@trellis/messaging';
import { ApiClient } from './api-client';
import { testEnv } from './env';
import { createTestDatabase, createTestNamespace, uniqueToken } from './isolation';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

/** The repository root, whether this file runs from source (jest) or from `dist/` (scripts, the bench). */
export const REPO_ROOT = repositoryRoot(__dirname);

function repositoryRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'apps'))) return dir;
  }
  throw new Error(`no repository root above ${from}`);
}

/** Options of {@link startTestPlatform}. */
export interface TestPlatformOptions extends Pick<PlatformOptions, 'env' | 'serviceEnv'> {
  executors?: number;
  /** The simulator's options; it always demands a key of its own, which the services get as `OPENAI_API_KEY`. */
  simulator?: Omit<SimulatorOptions, 'apiKey'>;
  /** NATS for the services (a private server or cluster the test may kill); default the shared one. */
  natsUrl?: string;
  /** Route the services' PostgreSQL connections through a {@link TcpProxy} the test can cut. */
  databaseProxy?: boolean;
}

/** One system-test file's platform and what it needs to talk to it. */
export interface TestPlatform {
  platform: Platform;
  simulator: SimulatorHandle;
  api: ApiClient;
  namespace: string;
  databaseUrl: string;
  apiKey: string;
  natsUrl: string;
  /** The proxy between the services and PostgreSQL, when `databaseProxy` was asked for. */
  databaseProxy?: TcpProxy;
  /** Stops every process, then removes the namespace's streams and drops the database. */
  stop(): Promise<void>;
}

/**
 * The whole platform for one system-test file: its own database, its own NATS namespace,
 * the simulator on a real HTTP port, demanding a key as a real provider does (a service the
 * key does not reach fails its model calls with 401), and every service as its own process
 * (from `dist/`, which `npm test` builds first) started from {@link testEnv.inherited}. Fault
 * tests may give the services a NATS they started (and may restart), and route PostgreSQL
 * through a proxy they may cut; the database itself is created and dropped directly, never
 * through the proxy.
 */
export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const db = await createTestDatabase();
  const namespace = createTestNamespace();
  const apiKey = `test-${uniqueToken()}-key`;
  const natsUrl = options.natsUrl ?? testEnv.natsUrl;
  const simulatorKey = `sk-sim-${uniqueToken()}`;
  const simulator = await startSimulator({ port: 0, ...options.simulator, apiKey: simulatorKey });
  let proxy: TcpProxy | undefined;
  let platform: Platform | undefined;
  const stop = async () => {
    await platform?.stop();
    await simulator.close();
    await proxy?.close();
    const nc = await connectNats({ servers: natsUrl.split(','), name: 'test-cleanup' });
    await deleteNamespace(nc, namespace).catch(() => undefined);
    await nc.close();
    await db.drop();
  };
  try {
    let databaseUrl = db.url;
    if (options.databaseProxy) {
      const direct = new URL(db.url);
      proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
      direct.port = String(proxy.port);
      databaseUrl = direct.toString();
    }
    platform = await Platform.start({
      rootDir: REPO_ROOT,
      inherit: testEnv.inherited,
      databaseUrl,
      natsUrl,
      namespace,
      apiKey,
      openaiBaseUrl: simulator.url,
      openaiApiKey: simulatorKey,
      executors: options.executors ?? 1,
      logLevel: testEnv.logLevel,
      echo: testEnv.echo,
      env: { TRELLIS_PROVIDERS: join(REPO_ROOT, 'deploy/simulator-catalog.yaml'), ...options.env },
      ...(options.serviceEnv ? { serviceEnv: options.serviceEnv } : {}),
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    platform,
    simulator,
    api: new ApiClient(platform.gatewayUrl, apiKey),
    namespace,
    databaseUrl: db.url,
    apiKey,
    natsUrl,
    ...(proxy ? { databaseProxy: proxy } : {}),
    stop,
  };
}
