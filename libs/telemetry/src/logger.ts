import pino, { type Logger } from 'pino';
import { isSpanContextValid, trace } from '@opentelemetry/api';

export type { Logger } from 'pino';

/**
 * One JSON logger per process, with the active trace and span ids on every line so a log
 * line leads to its trace. Secrets are redacted by key name wherever they appear.
 */
let root: Logger | undefined;

export function configureLogger(options: { service: string; level?: string; pretty?: boolean }): Logger {
  root = pino({
    name: options.service,
    level: options.level ?? 'info',
    base: { service: options.service },
    redact: { paths: ['*.apiKey', '*.api_key', '*.password', '*.authorization', '*.token', 'config.*Key'], censor: '[redacted]' },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span || !isSpanContextValid(span.spanContext())) return {};
      const { traceId, spanId } = span.spanContext();
      return { traceId, spanId };
    },
  });
  return root;
}

export function logger(component?: string): Logger {
  root ??= configureLogger({ service: 'trellis', level: 'info' });
  return component ? root.child({ component }) : root;
}
