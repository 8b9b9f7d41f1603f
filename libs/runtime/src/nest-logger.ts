import type { LoggerService } from '@nestjs/common';
import { logger, type Logger } from '@trellis/telemetry';

/** Routes Nest's own log lines into the service's JSON logger (Nest's chatter at debug). */
export class NestPinoLogger implements LoggerService {
  private readonly pino: Logger = logger('nest');
  log(message: unknown, context?: unknown) {
    this.pino.debug({ context }, String(message));
  }
  error(message: unknown, trace?: unknown, context?: unknown) {
    this.pino.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: unknown) {
    this.pino.warn({ context }, String(message));
  }
  debug(message: unknown, context?: unknown) {
    this.pino.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: unknown) {
    this.pino.trace({ context }, String(message));
  }
}
