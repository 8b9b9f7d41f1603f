import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DynamicModule, Type } from '@nestjs/common';
import { configureLogger, logger, shutdownTelemetry, startTelemetry } from '@trellis/telemetry';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { JetStreamServer } from './jetstream.server';
import { NestPinoLogger } from './nest-logger';

export interface BootstrapOptions {
  service: string;
  module: Type | DynamicModule;
  port?: number;
  host: string;
  logLevel: string;
  /** Largest request body the HTTP server reads (the gateway raises it; others only serve probes). */
  bodyLimit?: number;
  /** Extra Fastify setup (content-type parsers and the like), before Nest registers routes. */
  configure?: (app: NestFastifyApplication) => void | Promise<void>;
}

/**
 * Starts one service: telemetry first (so every later span has a provider), then Nest on
 * Fastify, its message handlers on the JetStream transport, shutdown hooks for SIGTERM/SIGINT
 * (consumers drain, then connections close), and one log line with the listening address
 * that process supervisors and tests wait for.
 */
export async function bootstrapService(options: BootstrapOptions): Promise<NestFastifyApplication> {
  startTelemetry(options.service, process.env);
  configureLogger({ service: options.service, level: options.logLevel });
  const adapter = new FastifyAdapter({ bodyLimit: options.bodyLimit ?? 1024 * 1024, logger: false });
  const app = await NestFactory.create<NestFastifyApplication>(options.module, adapter, {
    logger: new NestPinoLogger(),
    bufferLogs: false,
  });
  await options.configure?.(app);
  app.enableShutdownHooks(['SIGTERM', 'SIGINT']);
  // The service's message handlers (`@OnEvent`, `@OnRpc` in its controllers), hosted by the
  // JetStream transport once every module is initialised, and before HTTP answers readiness.
  const transport = messageTransport(app);
  if (transport) app.connectMicroservice<MicroserviceOptions>({ strategy: transport }, { inheritAppConfig: true });
  await app.init();
  await app.startAllMicroservices();
  await app.listen(options.port ?? 0, options.host);
  const url = await app.getUrl();
  logger().info({ url: url.replace('[::1]', '127.0.0.1') }, `${options.service} ready`);
  process.once('beforeExit', () => void shutdownTelemetry());
  return app;
}

/** The JetStream transport of a service that has NATS (every one today). */
function messageTransport(app: NestFastifyApplication): JetStreamServer | undefined {
  try {
    return app.get(JetStreamServer);
  } catch {
    return undefined;
  }
}

/**
 * A service's whole `main`: parse its config (exiting on a bad variable), start it, and
 * exit non-zero with the reason if it cannot start.
 */
export function runService<C extends { PORT?: number | undefined; HOST: string; LOG_LEVEL: string }>(options: {
  service: string;
  config: () => C;
  module: (config: C) => Type | DynamicModule;
  bodyLimit?: (config: C) => number;
  configure?: BootstrapOptions['configure'];
}): void {
  const config = options.config();
  bootstrapService({
    service: options.service,
    module: options.module(config),
    port: config.PORT ?? 0,
    host: config.HOST,
    logLevel: config.LOG_LEVEL,
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit(config) } : {}),
    ...(options.configure ? { configure: options.configure } : {}),
  }).catch((err: unknown) => {
    process.stderr.write(`${options.service} failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
