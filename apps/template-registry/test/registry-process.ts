import { freePort, ServiceProcess, serviceScript } from '@trellis/devstack';
import { connectNats, deleteNamespace, RpcClient, type NatsConnection } from '@trellis/messaging';
import { createTestDatabase, createTestNamespace, REPO_ROOT, testEnv } from '@trellis/testing';

/** The registry as its own process (from dist/), with a database and a namespace of its own, asked over NATS. */
export interface RegistryUnderTest {
  rpc: RpcClient;
  nc: NatsConnection;
  namespace: string;
  databaseUrl: string;
  /** Stops the process and starts a new one on the same database and namespace (a restart, or a second replica's start). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegistry(env: NodeJS.ProcessEnv = {}): Promise<RegistryUnderTest> {
  const db = await createTestDatabase();
  const namespace = createTestNamespace();
  const processEnv = { PATH: process.env.PATH, DATABASE_URL: db.url, NATS_URL: testEnv.natsUrl, TRELLIS_NAMESPACE: namespace, LOG_LEVEL: 'warn', ...env };
  const launch = async () => {
    const started = new ServiceProcess({ name: 'template-registry', script: serviceScript(REPO_ROOT, 'template-registry'), port: await freePort(), env: processEnv });
    started.start();
    await started.waitReady();
    return started;
  };
  let registry = await launch();
  const nc = await connectNats({ servers: testEnv.natsUrl, name: 'registry-test' });
  return {
    rpc: new RpcClient(nc, namespace),
    nc,
    namespace,
    databaseUrl: db.url,
    async restart() {
      await registry.stop();
      registry = await launch();
    },
    async stop() {
      await registry.stop();
      await deleteNamespace(nc, namespace).catch(() => undefined);
      await nc.close();
      await db.drop();
    },
  };
}
