import { provideTestServices, type TestServices } from './test-services';

const SERVICES = Symbol.for('trellis.testServices');
type WithServices = typeof globalThis & { [SERVICES]?: TestServices };

/**
 * Jest's global setup (once per test run, before any test file): chooses where PostgreSQL and
 * NATS come from and starts containers when that is the choice. The URLs go into process.env,
 * which the test workers inherit, so every file shares the same servers, as with local ones.
 * Each project that needs services names this file; the first call decides for the run.
 * A default export: jest calls the module's default function.
 */
export default async function globalSetup(): Promise<void> {
  if ((globalThis as WithServices)[SERVICES]) return;
  const services = await provideTestServices(process.env);
  Object.assign(process.env, services.env);
  if (services.sources.postgres === 'container' || services.sources.nats === 'container') {
    process.stdout.write(`trellis tests: PostgreSQL ${services.sources.postgres}, NATS ${services.sources.nats} (${Object.values(services.env).join(', ')})\n`);
  }
  (globalThis as WithServices)[SERVICES] = services;
}

/** Jest's global teardown: stops the containers the setup started (testcontainers' reaper would, at exit). */
export async function stopTestServices(): Promise<void> {
  const services = (globalThis as WithServices)[SERVICES];
  delete (globalThis as WithServices)[SERVICES];
  await services?.stop();
}
