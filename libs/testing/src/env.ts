import { hermeticEnv } from '@trellis/devstack';
import { configureLogger } from '@trellis/telemetry';
import { LOCAL_DATABASE_URL, LOCAL_NATS_URL } from './test-services';

/**
 * Where the test harness finds PostgreSQL and NATS: `DATABASE_URL` / `NATS_URL`, else the
 * local services on their default ports. Jest's global setup (./global-setup.ts) sets both
 * URLs before any test file loads when it started containers for the run.
 */
export const testEnv = {
  databaseUrl: process.env.DATABASE_URL ?? LOCAL_DATABASE_URL,
  natsUrl: process.env.NATS_URL ?? LOCAL_NATS_URL,
  /** The nats-server binary fault tests start their own servers with. */
  natsServerBin: process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server',
  /** The services' log level in system tests (`warn` keeps test output to what failed). */
  logLevel: process.env.TRELLIS_TEST_LOG_LEVEL ?? 'warn',
  /** The Chromium the browser tests and the console bench drive (Debian's `chromium` package). */
  chromiumPath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  /** `1` echoes every service's output, prefixed with its name. */
  echo: process.env.TRELLIS_TEST_ECHO === '1',
  /**
   * What the services a test starts take from the test runner's environment: PATH, HOME and
   * OTEL_* only. Jest's variables and a developer's exported Trellis settings stay out; a test
   * sets what it means.
   */
  inherited: hermeticEnv(process.env),
};

// Test output shows what failed, not every connection the harness opens.
configureLogger({ service: 'test', level: testEnv.logLevel });
